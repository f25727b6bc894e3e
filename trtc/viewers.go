package trtc

import "sync"

// The viewer limits' defaults (Registry.ViewersPerRoom, ViewersPerUser).
// A room's capacity does not count viewers who are not members (WHEP, RTMP
// and HTTP-FLV players), and each costs a session and its transcoding or
// forwarding, so they are bounded per room and per user.
const (
	DefaultViewersPerRoom = 100
	DefaultViewersPerUser = 50
)

// reserveViewer counts userID's viewer session into a room, or refuses with
// the room-full code (102052) when the room has ViewersPerRoom viewers or
// the user ViewersPerUser sessions across rooms. release, called once the
// session ends (calling it again is harmless), counts it out.
func (r *Registry) reserveViewer(room string, app uint32, userID string) (release func(), e *Error) {
	user := userKey{app: app, user: userID}
	r.viewersMu.Lock()
	defer r.viewersMu.Unlock()
	if r.viewers == nil {
		r.viewers, r.viewerSessions = map[string]int{}, map[userKey]int{}
	}
	if n := orDefault(r.ViewersPerRoom, DefaultViewersPerRoom); r.viewers[room] >= n {
		return nil, Errorf(CodeRoomFull, "room already has %d viewers", n)
	}
	if n := orDefault(r.ViewersPerUser, DefaultViewersPerUser); r.viewerSessions[user] >= n {
		return nil, Errorf(CodeRoomFull, "user %s already watches %d streams; close one first", userID, n)
	}
	r.viewers[room]++
	r.viewerSessions[user]++
	var once sync.Once
	return func() { once.Do(func() { r.releaseViewer(room, user) }) }, nil
}

// ViewerSessions is how many viewer sessions userID of app holds across
// rooms (what ViewersPerUser bounds).
func (r *Registry) ViewerSessions(app uint32, userID string) int {
	r.viewersMu.Lock()
	defer r.viewersMu.Unlock()
	return r.viewerSessions[userKey{app: app, user: userID}]
}

func (r *Registry) releaseViewer(room string, user userKey) {
	r.viewersMu.Lock()
	defer r.viewersMu.Unlock()
	if r.viewers[room]--; r.viewers[room] <= 0 {
		delete(r.viewers, room)
	}
	if r.viewerSessions[user]--; r.viewerSessions[user] <= 0 {
		delete(r.viewerSessions, user)
	}
}

// orDefault is v, or def when v is not set (zero or negative).
func orDefault[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
