package signaling

// maxViewers bounds the viewers of one room who are not members (WHEP,
// RTMP and HTTP-FLV players): the room's capacity does not count them, and
// each costs a session and its transcoding or forwarding.
const maxViewers = 100

// ReserveViewer counts a viewer into a room, or refuses with the room-full
// code when it has maxViewers already. ReleaseViewer counts it out.
func (r *Registry) ReserveViewer(room string) *Error {
	r.viewersMu.Lock()
	defer r.viewersMu.Unlock()
	if r.viewers == nil {
		r.viewers = map[string]int{}
	}
	if r.viewers[room] >= maxViewers {
		return Errorf(CodeRoomFull, "room already has %d viewers", maxViewers)
	}
	r.viewers[room]++
	return nil
}

// ReleaseViewer undoes ReserveViewer.
func (r *Registry) ReleaseViewer(room string) {
	r.viewersMu.Lock()
	defer r.viewersMu.Unlock()
	if r.viewers[room]--; r.viewers[room] <= 0 {
		delete(r.viewers, room)
	}
}
