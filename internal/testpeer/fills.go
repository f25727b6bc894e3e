package testpeer

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"
)

// Tests of a member's several video streams (camera, small stream, screen)
// fill each stream's frames with a byte of its own (peer.Source.Fill), so
// that a viewer can tell which stream a packet came from by its last byte.
const (
	FillMain   byte = 0x11
	FillSmall  byte = 0x33
	FillScreen byte = 0x77
)

// SendFills makes pc send one synthetic H.264 stream per fill, in that
// m-section order, the first with a microphone when audio, from now until
// the test ends.
func SendFills(t testing.TB, pc *webrtc.PeerConnection, audio bool, fills ...byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i, fill := range fills {
		src, err := NewSource(fmt.Sprintf("fill-%x", fill), 300, 25)
		if err != nil {
			t.Fatal(err)
		}
		src.Fill = fill
		if i == 0 && audio {
			err = src.AddTo(pc)
		} else {
			err = src.AddVideoTo(pc)
		}
		if err != nil {
			t.Fatal(err)
		}
		go src.Run(ctx)
	}
}

// ReceiveVideo adds n recvonly video sections to pc, and one for audio
// when audio.
func ReceiveVideo(t testing.TB, pc *webrtc.PeerConnection, n int, audio bool) {
	t.Helper()
	kinds := make([]webrtc.RTPCodecType, n, n+1)
	for i := range kinds {
		kinds[i] = webrtc.RTPCodecTypeVideo
	}
	if audio {
		kinds = append(kinds, webrtc.RTPCodecTypeAudio)
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
}

// FillCounts counts the video packets a client receives, by the tag in
// byte 2 of their SSRC (the TRTC Web SDK's 2 for the main video section, 7
// for the screen's) and the fill they end in.
type FillCounts struct {
	mu sync.Mutex
	n  map[[2]byte]int
}

// CountFills counts what pc receives from now on (it sets pc's OnTrack).
func CountFills(pc *webrtc.PeerConnection) *FillCounts {
	c := &FillCounts{n: map[[2]byte]int{}}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		tag := byte(uint32(tr.SSRC()) >> 16)
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if n := len(p.Payload); tr.Kind() == webrtc.RTPCodecTypeVideo && n > 1 {
				c.mu.Lock()
				c.n[[2]byte{tag, p.Payload[n-1]}]++
				c.mu.Unlock()
			}
		}
	})
	return c
}

// Count is how many packets ending in fill came on sections tagged tag.
func (c *FillCounts) Count(tag, fill byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[2]byte{tag, fill}]
}

// Any is how many packets ending in fill came, on any section.
func (c *FillCounts) Any(fill byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.n {
		if k[1] == fill {
			n += v
		}
	}
	return n
}
