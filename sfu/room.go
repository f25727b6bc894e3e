package sfu

import "sync"

// Room is a set of members who see each other's tracks.
type Room struct {
	sfu *SFU
	key string

	mu      sync.Mutex
	members map[string]*member
	subs    map[follower]subscription

	budgetsMu sync.Mutex
	budgets   map[budgetKey]*keyframeBudget // Room.keyframeBudget
}

// budgetKey names a viewer's keyframe budget for one publisher's source.
type budgetKey struct {
	viewer, publisher string
	source            Source
}

// maxBudgets: past this many, the budgets a viewer has not drawn on lately
// (full again, as a new one would be) are forgotten.
const maxBudgets = 4096

// keyframeBudget is the one budget of viewer's keyframe requests for one
// of publisher's sources (the camera section, main or small, or the
// screen), whichever of its sessions ask: a budget per subscription let one
// user with four subscriptions ask four times as often, and one that
// subscribed anew each time start afresh each time. The camera and the
// screen have a budget each, so that a viewer on a lossy link recovers both.
func (r *Room) keyframeBudget(viewer, publisher string, source Source) *keyframeBudget {
	if source == SourceSmall {
		source = SourceMain // one camera, whichever of its streams a section carries
	}
	r.budgetsMu.Lock()
	defer r.budgetsMu.Unlock()
	key := budgetKey{viewer, publisher, source}
	if b := r.budgets[key]; b != nil {
		return b
	}
	if r.budgets == nil {
		r.budgets = map[budgetKey]*keyframeBudget{}
	}
	if len(r.budgets) >= maxBudgets {
		now := monotonic()
		for k, b := range r.budgets {
			if b.due.Load() <= now {
				delete(r.budgets, k)
			}
		}
	}
	b := new(keyframeBudget)
	r.budgets[key] = b
	return b
}

// follower is a sink that follows a publisher's track of one source across
// republishes: a WebRTC subscriber's DownTrack, or a Tap (FLV players,
// recorders).
type follower interface {
	Attach(t *Track)
	// SwitchTo moves to t without a gap where the follower can (a
	// DownTrack changing layers); otherwise it is Attach.
	SwitchTo(t *Track)
	Detach()
	// detachFrom detaches only if t is still the source.
	detachFrom(t *Track)
	// accepts reports whether the follower can take a track of codec c.
	accepts(c Codec) bool
}

type member struct {
	userID     string
	sessions   map[*Session]struct{}
	publishers [slots]*Session   // the current publishing sessions, if any
	tracks     map[Source]*Track // published now
}

// subscription is one follower of a viewer, waiting for or attached to a
// publisher's track of one source. A follower that wants the small stream
// gets the main one while the publisher sends no small stream, as TRTC's
// servers do.
type subscription struct {
	publisher string
	source    Source
	session   *Session
}

// sourceFor is the track that serves a follower wanting source want.
func (m *member) sourceFor(want Source) *Track {
	if t := m.tracks[want]; t != nil || want != SourceSmall {
		return t
	}
	return m.tracks[SourceMain]
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
		m = &member{userID: sess.userID, sessions: map[*Session]struct{}{}, tracks: map[Source]*Track{}}
		r.members[sess.userID] = m
	}
	m.sessions[sess] = struct{}{}
	if sess.publishing {
		replaced, m.publishers[sess.slot] = m.publishers[sess.slot], sess
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
	var ended []Source
	for f, sub := range r.subs {
		if sub.session == sess {
			detach = append(detach, f)
			delete(r.subs, f)
		}
	}
	if m := r.members[sess.userID]; m != nil {
		delete(m.sessions, sess)
		if m.publishers[sess.slot] == sess {
			m.publishers[sess.slot] = nil
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

// publish makes t the user's track of its source and attaches every viewer
// it serves. A track of a replaced session is ignored. Viewers of the small
// stream that were watching the main one meanwhile switch over at the
// small stream's first keyframe.
func (r *Room) publish(sess *Session, t *Track) bool {
	r.mu.Lock()
	m := r.members[sess.userID]
	if m == nil || m.publishers[sess.slot] != sess {
		r.mu.Unlock()
		return false
	}
	m.tracks[t.Source] = t
	attach := r.servedBy(m, t)
	r.mu.Unlock()
	for _, f := range attach {
		if t.Source == SourceSmall {
			f.SwitchTo(t)
		} else {
			f.Attach(t)
		}
	}
	if f := r.sfu.onTrack; f != nil {
		f(r.key, sess.userID, t.Source, true)
	}
	return true
}

// unpublish removes a track whose source ended. Its viewers stay subscribed
// and continue when the user publishes again; viewers of the small stream
// go back to the main one meanwhile.
func (r *Room) unpublish(sess *Session, t *Track) {
	r.mu.Lock()
	m := r.members[sess.userID]
	current := m != nil && m.tracks[t.Source] == t
	var followers []follower
	var next []*Track
	if m != nil {
		followers = r.servedBy(m, t)
		if current {
			delete(m.tracks, t.Source)
		}
		for _, f := range followers {
			next = append(next, m.sourceFor(r.subs[f].source))
		}
	}
	r.mu.Unlock()
	if f := r.sfu.onTrack; f != nil && current {
		f(r.key, sess.userID, t.Source, false)
	}
	for i, f := range followers {
		if n := next[i]; n != nil && n != t && f.accepts(n.Codec) {
			f.SwitchTo(n)
		} else {
			f.detachFrom(t)
		}
	}
}

// servedBy returns the followers of member m that t serves (or would, for
// a track that has ended) and that can take it. The caller holds r.mu.
func (r *Room) servedBy(m *member, t *Track) []follower {
	var out []follower
	for f, sub := range r.subs {
		if sub.publisher != m.userID || !f.accepts(t.Codec) {
			continue
		}
		if sub.source == t.Source || sub.source == SourceSmall && t.Source == SourceMain && m.tracks[SourceSmall] == nil {
			out = append(out, f)
		}
	}
	return out
}

// track returns a publisher's current track of a source.
func (r *Room) track(userID string, src Source) *Track {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[userID]; m != nil {
		return m.tracks[src]
	}
	return nil
}

// publishedSources is what a member's publishing sessions send (or have
// negotiated to send).
func (r *Room) publishedSources(userID string) []Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Source
	if m := r.members[userID]; m != nil {
		for _, p := range m.publishers {
			if p != nil {
				out = append(out, p.publishes...)
			}
		}
	}
	return out
}

// subscribe registers a viewer's follower for a publisher's source and
// attaches it to the track that serves it now, if any.
func (r *Room) subscribe(f follower, sub subscription) {
	r.mu.Lock()
	r.subs[f] = sub
	var t *Track
	if m := r.members[sub.publisher]; m != nil {
		t = m.sourceFor(sub.source)
	}
	r.mu.Unlock()
	if t != nil && f.accepts(t.Codec) {
		f.Attach(t)
	}
}

// resubscribe changes the source a follower wants and moves it to the
// track that serves it, at that track's next keyframe.
func (r *Room) resubscribe(f follower, want Source) {
	r.mu.Lock()
	sub, ok := r.subs[f]
	var t *Track
	if ok {
		sub.source = want
		r.subs[f] = sub
		if m := r.members[sub.publisher]; m != nil {
			t = m.sourceFor(want)
		}
	}
	r.mu.Unlock()
	if t != nil && f.accepts(t.Codec) {
		f.SwitchTo(t)
	}
}
