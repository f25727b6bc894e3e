package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
)

// soakAPI is a stock pion client (peer's) on ip, with its logging off: a
// hostile client's own complaints are not the server's.
func soakAPI(ip net.IP) (*webrtc.API, error) {
	return peer.API(peer.Options{From: ip, Silent: true})
}

// sendTracks adds an H.264 and an Opus track that the caller writes RTP
// to, reading RTCP as a sender must.
func sendTracks(pc *webrtc.PeerConnection) (video, audio *webrtc.TrackLocalStaticRTP, err error) {
	if video, err = webrtc.NewTrackLocalStaticRTP(peer.H264, "video", "soak"); err != nil {
		return nil, nil, err
	}
	if audio, err = webrtc.NewTrackLocalStaticRTP(peer.Opus, "audio", "soak"); err != nil {
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
	if err := peer.Offer(ctx, pc); err != nil {
		return "", "", 0, err
	}
	return peer.PostSDP(ctx, client, u, bearer, pc)
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
	if err := peer.SetAnswer(pc, answer); err != nil {
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
