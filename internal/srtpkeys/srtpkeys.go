// Package srtpkeys derives a connected pion PeerConnection's SRTP master
// keys from its DTLS connection, for code that sends and receives SRTP on
// its own socket rather than through pion: the SFU's fast path and the
// bench's raw-media engine.
package srtpkeys

import (
	"errors"
	"reflect"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Keys are a connected session's SRTP master keys: Local protects what this
// side sends, Remote what it receives.
type Keys struct {
	Profile               srtp.ProtectionProfile
	LocalKey, LocalSalt   []byte
	RemoteKey, RemoteSalt []byte
}

// ErrNoKeys means the session has no DTLS connection with SRTP keys yet, or
// pion no longer keeps it where this package looks.
var ErrNoKeys = errors.New("srtpkeys: SRTP keys not available")

// FromPeerConnection derives the keys as RFC 5764 says; isClient is this
// side's DTLS role. pion does not export its DTLS connection, so it is read
// from the transport by reflection (pinned pion version; if a newer pion
// moves it, ErrNoKeys, and the SFU's tests that assert its fast path fail).
func FromPeerConnection(pc *webrtc.PeerConnection, isClient bool) (*Keys, error) {
	conn := dtlsConn(pc.SCTP().Transport())
	if conn == nil {
		return nil, ErrNoKeys
	}
	state, ok := conn.ConnectionState()
	profile, ok2 := conn.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		return nil, ErrNoKeys
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return nil, err
	}
	return &Keys{Profile: cfg.Profile,
		LocalKey: cfg.Keys.LocalMasterKey, LocalSalt: cfg.Keys.LocalMasterSalt,
		RemoteKey: cfg.Keys.RemoteMasterKey, RemoteSalt: cfg.Keys.RemoteMasterSalt}, nil
}

// dtlsConn reads the transport's unexported DTLS connection; nil when it
// is not there.
func dtlsConn(dt *webrtc.DTLSTransport) *dtls.Conn {
	if dt == nil {
		return nil
	}
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return nil
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn)
}

// LocalContext is an SRTP context that protects what this side sends.
func (k *Keys) LocalContext() (*srtp.Context, error) {
	return srtp.CreateContext(k.LocalKey, k.LocalSalt, k.Profile)
}

// RemoteContext is an SRTP context that unprotects what this side
// receives (SRTP and SRTCP), with pion's default replay window.
func (k *Keys) RemoteContext() (*srtp.Context, error) {
	return srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile,
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
}

// replayWindow is pion's default SRTP replay window.
const replayWindow = 64
