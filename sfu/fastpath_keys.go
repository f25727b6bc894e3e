package sfu

import (
	"strings"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// srtpKeys are a connected session's SRTP master keys.
type srtpKeys struct {
	profile               srtp.ProtectionProfile
	localKey, localSalt   []byte
	remoteKey, remoteSalt []byte
}

// sessionKeys derives the SRTP keys from the session's DTLS connection
// (package srtpkeys; if a newer pion moves it, sessions stay on pion's path
// and assertFastPath in the SFU's tests fails).
func sessionKeys(pc *webrtc.PeerConnection) (*srtpKeys, error) {
	// The answerer's DTLS role is in its own answer.
	isClient := strings.Contains(pc.LocalDescription().SDP, "a=setup:active")
	k, err := srtpkeys.FromPeerConnection(pc, isClient)
	if err != nil {
		return nil, err
	}
	return &srtpKeys{profile: k.Profile, localKey: k.LocalKey, localSalt: k.LocalSalt,
		remoteKey: k.RemoteKey, remoteSalt: k.RemoteSalt}, nil
}

// srtpReplayWindow is the replay window of the fast path's decryption, as
// pion's default.
const srtpReplayWindow = 64
