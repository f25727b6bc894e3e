package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// rawSession is one raw-engine client's connection: a pion PeerConnection
// that does the signalling, ICE and DTLS on the session's own socket, then
// hands the socket's media to the engine.
type rawSession struct {
	pc        *webrtc.PeerConnection
	sock      *rawSocket
	mux       ice.UDPMux
	connected chan struct{}
	remote    netip.AddrPort // the server's end of the selected candidate pair
	keys      *srtpkeys.Keys
}

// rawConnectTimeout bounds ICE and DTLS after the answer.
const rawConnectTimeout = 10 * time.Second

var errRawNotConnected = errors.New("bench: raw session did not connect")

// loopback is where the raw engine's sockets are, as the pion engine's
// candidates (internal/peer).
var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

func newRawSession(e *rawEngine) (*rawSession, error) {
	sock, err := listenRaw(e.poller, loopback)
	if err != nil {
		return nil, err
	}
	api, mux, err := peer.APIOnSocket(peer.Options{}, sock)
	if err != nil {
		sock.Close()
		return nil, err
	}
	s := &rawSession{sock: sock, mux: mux, connected: make(chan struct{})}
	if s.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		s.Close()
		return nil, err
	}
	var once sync.Once
	s.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(s.connected) })
		}
	})
	return s, nil
}

// connect waits for ICE and DTLS after the answer, then reads the keys
// and the server's address.
func (s *rawSession) connect(ctx context.Context) error {
	select {
	case <-s.connected:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(rawConnectTimeout):
		return errRawNotConnected
	}
	// The answer's setup attribute is the server's DTLS role (RFC 5763):
	// active, the server is the client; passive, this side is.
	isClient := strings.Contains(s.pc.RemoteDescription().SDP, "a=setup:passive")
	keys, err := srtpkeys.FromPeerConnection(s.pc, isClient)
	if err != nil {
		return err
	}
	s.keys = keys
	pair, err := s.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return fmt.Errorf("%w: no selected candidate pair", errRawNotConnected)
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return fmt.Errorf("server candidate %q: %w", pair.Remote.Address, err)
	}
	s.remote = netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
	return nil
}

// Close ends the PeerConnection (its DTLS close alert still goes out),
// then the socket (through pion's mux).
func (s *rawSession) Close() {
	if s.pc != nil {
		s.pc.Close()
	}
	s.sock.mute()
	s.mux.Close()
	s.sock.Close()
}
