package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

// soakNet is the network a pion client on another loopback address sees:
// one interface holding that address, so that its candidates and sockets
// are there and the server counts it apart from the good clients.
type soakNet struct {
	*stdnet.Net
	ifc *transport.Interface
}

func newSoakNet(ip net.IP) (*soakNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	ifc := transport.NewInterface(net.Interface{Index: 1, MTU: 65536, Name: "lo", Flags: net.FlagUp | net.FlagLoopback | net.FlagRunning})
	ifc.AddAddress(&net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(8, 32)})
	return &soakNet{Net: n, ifc: ifc}, nil
}

func (n *soakNet) Interfaces() ([]*transport.Interface, error) {
	return []*transport.Interface{n.ifc}, nil
}

func (n *soakNet) InterfaceByIndex(i int) (*transport.Interface, error) {
	if i == n.ifc.Index {
		return n.ifc, nil
	}
	return nil, errors.New("soak: no such interface")
}

func (n *soakNet) InterfaceByName(name string) (*transport.Interface, error) {
	if name == n.ifc.Name {
		return n.ifc, nil
	}
	return nil, errors.New("soak: no such interface")
}

// soakAPI is a stock pion client (default codecs and interceptors, as
// testpeer's) on ip, with its logging off: a hostile client's own
// complaints are not the server's.
func soakAPI(ip net.IP) (*webrtc.API, error) {
	sn, err := newSoakNet(ip)
	if err != nil {
		return nil, err
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetNet(sn)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)), nil
}

var (
	soakH264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	soakOpus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// sendTracks adds an H.264 and an Opus track that the caller writes RTP
// to, reading RTCP as a sender must.
func sendTracks(pc *webrtc.PeerConnection) (video, audio *webrtc.TrackLocalStaticRTP, err error) {
	if video, err = webrtc.NewTrackLocalStaticRTP(soakH264, "video", "soak"); err != nil {
		return nil, nil, err
	}
	if audio, err = webrtc.NewTrackLocalStaticRTP(soakOpus, "audio", "soak"); err != nil {
		return nil, nil, err
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, nil, err
		}
		go func() {
			for {
				if _, _, err := tx.Sender().ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	return video, audio, nil
}

// postOffer makes pc's offer (every candidate gathered) and posts it to a
// WHIP or WHEP URL.
func postOffer(ctx context.Context, client *http.Client, u, bearer string, pc *webrtc.PeerConnection) (answer, location string, status int, err error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", "", 0, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", "", 0, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", "", 0, ctx.Err()
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return "", "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return string(b), resp.Header.Get("Location"), resp.StatusCode, nil
}

// connectedOrEnded reports when pc connects (DTLS done) and when its
// connection ends for good.
func connectedOrEnded(pc *webrtc.PeerConnection) (connected, ended chan struct{}) {
	connected, ended = make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once1.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			once2.Do(func() { close(ended) })
		}
	})
	return connected, ended
}

// answered applies a WHIP answer, counting a refusal or failure.
func (a *attack) answered(ctx context.Context, pc *webrtc.PeerConnection, answer string, status int, err error) bool {
	switch {
	case ctx.Err() != nil:
		return false
	case err != nil:
		a.count("offer: " + classify(err))
		return false
	case status != http.StatusCreated:
		a.count(fmt.Sprintf("HTTP %d", status))
		return false
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		a.count("answer not applied: " + err.Error())
		return false
	}
	return true
}

func deleteSession(client *http.Client, base, session string) {
	if strings.HasPrefix(session, "/") {
		session = base + session
	}
	req, _ := http.NewRequest("DELETE", session, nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
}
