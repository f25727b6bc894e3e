package e2e

import (
	"testing"

	"github.com/trtcd/trtcd/server"
)

// The seed API rows the other mini-program scenarios leave out, on the
// harness of miniprogram_test.go.

// webrtc-room: pusherBackgroundImg, loadingImg and playerBackgroundImg in
// the rendered places; enableCamera toggled while pushing (the pusher's
// attribute and the other member's list); pureAudioPushMod (pureaudiomode=1
// on the push URL, the other member hears the tone and decodes no video);
// ERROR_JOIN_ROOM when the /ws follow cannot be done
// (miniprogram/test/webrtc_room_props.js says what each shows).
func TestMiniProgramGapsWebRTCRoom(t *testing.T) {
	mp := startMiniprogram(t, startTrtcd(t), appKey)
	mp.start(t, "webrtc_room_props.js").wait(t)
}

// TIC in the mini program, over wx.connectSocket: quitClassroom and
// onTICMemberQuit, removed message, event and status listeners getting
// nothing more, logout, onTICForceOffline from a second sign-in of the same
// user, destroyClassroom and onTICClassroomDestroy
// (miniprogram/test/tic_lifecycle.js).
func TestMiniProgramGapsTIC(t *testing.T) {
	mp := startMiniprogram(t, startTrtcd(t), appKey)
	mp.start(t, "tic_lifecycle.js").wait(t)
}

// TIC's catch-up in the mini program waits as the server's history pace
// says (10023, "ask again in ..."), so a late joiner's board gets a long
// history whole (miniprogram/test/tic_history_pace.js).
func TestMiniProgramTICReplaysAPacedHistory(t *testing.T) {
	srv := startTrtcdWith(t, func(c *server.Config) {
		c.ClassLimits.HistoryBytesPerSecond, c.ClassLimits.HistoryReplyBytes = 16000, 20000
	})
	startMiniprogram(t, srv, appKey).start(t, "tic_history_pace.js").wait(t)
}
