package peer

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Offer sets pc's local description to a fresh offer with every candidate
// (WHIP and WHEP do not trickle), unless ctx ends first.
func Offer(ctx context.Context, pc *webrtc.PeerConnection) error {
	o, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		return err
	}
	select {
	case <-gathered:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxAnswer bounds what is read of a reply: an SDP answer is a few KiB.
const maxAnswer = 1 << 20

// PostSDP posts pc's offer to a WHIP or WHEP url with a bearer token and
// returns the answer (or error body), the session URL and the status.
func PostSDP(ctx context.Context, client *http.Client, url, bearer string, pc *webrtc.PeerConnection) (answer, location string, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return "", "", 0, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return "", "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return string(b), resp.Header.Get("Location"), resp.StatusCode, nil
}

// SetAnswer applies a WHIP or WHEP answer to pc.
func SetAnswer(pc *webrtc.PeerConnection, answer string) error {
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}
