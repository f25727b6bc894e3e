package sfu

import (
	"errors"
	"reflect"
	"strings"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// srtpKeys are a connected session's SRTP master keys.
type srtpKeys struct {
	profile               srtp.ProtectionProfile
	localKey, localSalt   []byte
	remoteKey, remoteSalt []byte
}

var errNoKeys = errors.New("sfu: SRTP keys not available")

// sessionKeys derives the SRTP keys from the session's DTLS connection as
// RFC 5764 says. pion does not export its DTLS connection, so it is read
// from the transport by reflection (pinned pion version; if a newer pion
// moves it, sessions stay on pion's path and assertFastPath in the SFU's
// tests fails).
func sessionKeys(pc *webrtc.PeerConnection) (*srtpKeys, error) {
	dt := pc.SCTP().Transport()
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return nil, errNoKeys
	}
	conn := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn)
	if conn == nil {
		return nil, errNoKeys
	}
	state, ok := conn.ConnectionState()
	profile, ok2 := conn.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		return nil, errNoKeys
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	// The answerer's DTLS role is in its own answer.
	isClient := strings.Contains(pc.LocalDescription().SDP, "a=setup:active")
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return nil, err
	}
	return &srtpKeys{profile: cfg.Profile,
		localKey: cfg.Keys.LocalMasterKey, localSalt: cfg.Keys.LocalMasterSalt,
		remoteKey: cfg.Keys.RemoteMasterKey, remoteSalt: cfg.Keys.RemoteMasterSalt}, nil
}

// srtpReplayWindow is the replay window of the fast path's decryption, as
// pion's default.
const srtpReplayWindow = 64
