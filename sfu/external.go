package sfu

// Sessions without a PeerConnection, for members whose media is not
// WebRTC: an RTMP pusher publishes tracks it packetizes itself, an FLV
// player or a recorder follows tracks through a Tap. They use the same
// rooms, tracks and fan-out as WebRTC sessions.

// Join makes userID a member of a room with a session that has no
// PeerConnection. A session that publishes (sources not empty) replaces the
// user's current publisher of those sources, as a WebRTC publish does; one
// that does not is a viewer.
func (sfu *SFU) Join(room, userID string, publishes ...Source) (*Session, error) {
	return sfu.join(room, userID, publishes, slotOf(publishes), nil)
}

// PublishTrack makes a new track the session's track of source src: the
// room's viewers of this user's src attach to it. It fails when the
// session was replaced or closed. The caller writes packets with
// Track.Write from one goroutine and calls Unpublish when the source ends.
func (s *Session) PublishTrack(id string, src Source, codec Codec, up Upstream) (*Track, error) {
	t := NewTrack(id, src.Kind(), codec, up, s.room.sfu.metrics)
	t.Source = src
	if s.isClosed() || !s.room.publish(s, t) {
		t.Close()
		return nil, ErrSessionClosed
	}
	return t, nil
}

// Unpublish ends a track published with Publish.
func (s *Session) Unpublish(t *Track) {
	s.room.unpublish(s, t)
	t.Close()
}

// Follow attaches sink to publisher's track of source src now and after
// every republish, until the session closes. accepts says which codecs the
// sink can take (nil: any).
func (s *Session) Follow(publisher string, src Source, sink Sink, accepts func(Codec) bool) *Tap {
	tap := &Tap{sink: sink, kind: src.Kind(), accept: accepts}
	s.room.subscribe(tap, subscription{publisher: publisher, source: src, session: s})
	return tap
}
