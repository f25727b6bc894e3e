package sfu

import "sync"

// Room is a set of members who see each other's tracks.
type Room struct {
	sfu *SFU
	key string

	mu      sync.Mutex
	members map[string]*member
	subs    map[follower]subscription
}

// follower is a sink that follows a publisher's track of one kind across
// republishes: a WebRTC subscriber's DownTrack, or a Tap (FLV players,
// recorders).
type follower interface {
	Attach(t *Track)
	Detach()
	// detachFrom detaches only if t is still the source.
	detachFrom(t *Track)
	// accepts reports whether the follower can take a track of codec c.
	accepts(c Codec) bool
}

type member struct {
	userID    string
	sessions  map[*Session]struct{}
	publisher *Session        // the current publishing session, if any
	tracks    map[Kind]*Track // published now
}

// subscription is one follower of a viewer, waiting for or attached to a
// publisher's track of one kind.
type subscription struct {
	publisher string
	kind      Kind
	session   *Session
}

func newRoom(s *SFU, key string) *Room {
	return &Room{sfu: s, key: key, members: map[string]*member{}, subs: map[follower]subscription{}}
}

func (r *Room) size() (members, tracks int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		tracks += len(m.tracks)
	}
	return len(r.members), tracks
}

func (r *Room) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members) == 0
}

func (r *Room) sessions() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Session
	for _, m := range r.members {
		for s := range m.sessions {
			out = append(out, s)
		}
	}
	return out
}

// add makes the session's user a member (if not already) and returns the
// publishing session it replaces, if sess publishes.
func (r *Room) add(sess *Session) (replaced *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[sess.userID]
	if m == nil {
		m = &member{userID: sess.userID, sessions: map[*Session]struct{}{}, tracks: map[Kind]*Track{}}
		r.members[sess.userID] = m
	}
	m.sessions[sess] = struct{}{}
	if sess.publishing {
		replaced, m.publisher = m.publisher, sess
	}
	return replaced
}

// remove ends a session's part in the room; the member leaves with its last
// session, and the room closes with its last member. A member that leaves
// stops publishing here: its tracks' readers may end only after this, and
// by then there is no member left for unpublish to report.
func (r *Room) remove(sess *Session) {
	r.mu.Lock()
	var detach []follower
	var ended []Kind
	for f, sub := range r.subs {
		if sub.session == sess {
			detach = append(detach, f)
			delete(r.subs, f)
		}
	}
	if m := r.members[sess.userID]; m != nil {
		delete(m.sessions, sess)
		if m.publisher == sess {
			m.publisher = nil
		}
		if len(m.sessions) == 0 {
			for k := range m.tracks {
				ended = append(ended, k)
			}
			delete(r.members, sess.userID)
		}
	}
	r.mu.Unlock()
	for _, f := range detach {
		f.Detach()
	}
	if f := r.sfu.onTrack; f != nil {
		for _, k := range ended {
			f(r.key, sess.userID, k, false)
		}
	}
	r.sfu.dropRoomIfEmpty(r)
}

// publish makes t the user's track of its kind and attaches every viewer
// waiting for it. A track of a replaced session is ignored.
func (r *Room) publish(sess *Session, t *Track) bool {
	r.mu.Lock()
	m := r.members[sess.userID]
	if m == nil || m.publisher != sess {
		r.mu.Unlock()
		return false
	}
	m.tracks[t.Kind] = t
	attach := r.followersOf(sess.userID, t)
	r.mu.Unlock()
	for _, f := range attach {
		f.Attach(t)
	}
	if f := r.sfu.onTrack; f != nil {
		f(r.key, sess.userID, t.Kind, true)
	}
	return true
}

// unpublish removes a track whose source ended. Its viewers stay subscribed
// and continue when the user publishes again.
func (r *Room) unpublish(sess *Session, t *Track) {
	r.mu.Lock()
	current := false
	if m := r.members[sess.userID]; m != nil && m.tracks[t.Kind] == t {
		delete(m.tracks, t.Kind)
		current = true
	}
	followers := r.followersOf(sess.userID, t)
	r.mu.Unlock()
	if f := r.sfu.onTrack; f != nil && current {
		f(r.key, sess.userID, t.Kind, false)
	}
	for _, f := range followers {
		f.detachFrom(t)
	}
}

// followersOf returns the followers waiting for or attached to a user's
// tracks of t's kind that can take t. The caller holds r.mu.
func (r *Room) followersOf(userID string, t *Track) []follower {
	var out []follower
	for f, sub := range r.subs {
		if sub.publisher == userID && sub.kind == t.Kind && f.accepts(t.Codec) {
			out = append(out, f)
		}
	}
	return out
}

// track returns a publisher's current track of a kind.
func (r *Room) track(userID string, k Kind) *Track {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[userID]; m != nil {
		return m.tracks[k]
	}
	return nil
}

// publishedKinds is what a member's publishing session sends (or has
// negotiated to send).
func (r *Room) publishedKinds(userID string) []Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[userID]; m != nil && m.publisher != nil {
		return m.publisher.publishes
	}
	return nil
}

// subscribe registers a viewer's follower for a publisher's kind and
// attaches it to the publisher's current track, if any.
func (r *Room) subscribe(f follower, sub subscription) {
	r.mu.Lock()
	r.subs[f] = sub
	var t *Track
	if m := r.members[sub.publisher]; m != nil {
		t = m.tracks[sub.kind]
	}
	r.mu.Unlock()
	if t != nil && f.accepts(t.Codec) {
		f.Attach(t)
	}
}
