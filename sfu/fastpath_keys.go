package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// sessionKeys derives the SRTP keys from the session's DTLS connection
// (package srtpkeys; if a newer pion moves it, sessions stay on pion's path
// and assertFastPath in the SFU's tests fails).
func sessionKeys(pc *webrtc.PeerConnection) (*srtpkeys.Keys, error) {
	// The answerer's DTLS role is in its own answer.
	isClient := strings.Contains(pc.LocalDescription().SDP, "a=setup:active")
	return srtpkeys.FromPeerConnection(pc, isClient)
}

// srtpReplayWindow is the replay window of the fast path's decryption, as
// pion's default.
const srtpReplayWindow = 64
