// whep-play plays one publisher of a trtcd room over WHEP with pion and
// prints what arrives: the tracks, packets and kilobits per second, lost
// packets and keyframes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/examples/internal/trtcdclient"
)

func main() {
	// -server, -app, -key, -usersig, -user, -room and -strroom, then this example's own.
	f := trtcdclient.DefineFlags("viewer", "the viewer's userId")
	publisher := flag.String("publisher", "alice", "the userId of the publisher to play")
	duration := flag.Duration("duration", 0, "play for this long, then leave (0: until Ctrl-C); exits 1 if no media arrived")
	wait := flag.Duration("wait", 15*time.Second, "how long to retry while the publisher is not there yet")
	flag.Parse()

	appID, sig, err := f.Credentials()
	if err != nil {
		log.Fatal(err)
	}
	pc, err := trtcdclient.NewPeerConnection() // loopback only
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()
	// Ask for one video and one audio track.
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			log.Fatal(err)
		}
	}

	var mu sync.Mutex
	var tracks []*trackStats
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s := &trackStats{kind: t.Kind().String(), codec: t.Codec().MimeType}
		_, s.name, _ = strings.Cut(s.codec, "/") // "video/H264": "H264"
		log.Printf("track: %s %s, payload type %d, SSRC %d, stream %q", s.kind, s.codec, t.PayloadType(), t.SSRC(), t.StreamID())
		mu.Lock()
		tracks = append(tracks, s)
		mu.Unlock()
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			s.add(p)
		}
	})
	_, ended := trtcdclient.WatchState(pc)

	// WHEP does not trickle: the offer carries every candidate.
	offer, err := trtcdclient.GatherOffer(pc)
	if err != nil {
		log.Fatal(err)
	}
	q := url.Values{"userId": {f.User}}
	if f.StrRoom != "" {
		q.Set("strRoomId", f.StrRoom)
	}
	endpoint := fmt.Sprintf("%s/whep/%d/%d/%s?%s", strings.TrimRight(f.Server, "/"), appID, f.Room, url.PathEscape(*publisher), q.Encode())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A publisher that is not there yet is a 404: retry for a while, as a
	// player does while the stream comes up.
	var session *trtcdclient.Session
	for deadline := time.Now().Add(*wait); ; {
		session, err = trtcdclient.PostOffer(endpoint, sig, offer)
		if err == nil {
			break
		}
		var refused *trtcdclient.StatusError
		if !errors.As(err, &refused) || refused.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			log.Fatalf("WHEP: %v", err)
		}
		log.Printf("WHEP: %v; retrying", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	log.Printf("WHEP %s: 201 Created, session %s", endpoint, session.URL)
	defer session.Leave()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: session.Answer}); err != nil {
		log.Fatal(err)
	}

	if *duration > 0 {
		ctx, stop = context.WithTimeout(ctx, *duration)
		defer stop()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var total int64
	for {
		select {
		case <-ended:
			log.Print("the server ended the session")
			session.Gone()
			return
		case <-tick.C:
			mu.Lock()
			var line []string
			for _, s := range tracks {
				line = append(line, s.second())
			}
			mu.Unlock()
			if len(line) > 0 {
				log.Print(strings.Join(line, " | "))
			}
		case <-ctx.Done():
			mu.Lock()
			for _, s := range tracks {
				log.Print(s.total())
				total += s.packetCount()
			}
			mu.Unlock()
			if total == 0 {
				log.Print("no media arrived")
				session.Leave()
				os.Exit(1)
			}
			return
		}
	}
}

// trackStats counts one track's packets.
type trackStats struct {
	kind, codec string
	name        string // the codec without the kind

	mu                           sync.Mutex
	packets, bytes               int64 // in all
	keyframes, lost              int64
	secPackets, secBytes, secKey int64         // since the last second()
	seen                         [1 << 16]bool // by sequence number, to count losses and late packets
	lastSeq                      uint16
	started                      bool
	lastKeyTS                    uint32 // a keyframe's packets share it
	lastKeyTSValid               bool
}

func (s *trackStats) add(p *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := p.SequenceNumber
	switch gap := seq - s.lastSeq; {
	case !s.started || gap > 1000 && gap <= 0x8000: // the first packet, or a jump: start over
		s.started = true
		clear(s.seen[:])
		s.lastSeq = seq
	case gap == 0 || gap > 0x8000: // not newer than the newest
		if s.seen[seq] || gap < 0x10000-1000 {
			return // a duplicate, or too old to tell
		}
		s.lost-- // late (a retransmission, say): it was counted lost
	default:
		for q := s.lastSeq + 1; q != seq; q++ {
			s.seen[q] = false
			s.lost++
		}
		s.lastSeq = seq
	}
	s.seen[seq] = true
	s.packets++
	s.bytes += int64(len(p.Payload))
	s.secPackets++
	s.secBytes += int64(len(p.Payload))
	if s.kind == "video" && isKeyframe(s.codec, p.Payload) && (!s.lastKeyTSValid || p.Timestamp != s.lastKeyTS) {
		s.lastKeyTS, s.lastKeyTSValid = p.Timestamp, true
		s.keyframes++
		s.secKey++
	}
}

// second is this second's line for the track, and starts the next second.
func (s *trackStats) second() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := fmt.Sprintf("%s %s: %d pkt/s %d kbit/s", s.kind, s.name, s.secPackets, s.secBytes*8/1000)
	if s.kind == "video" {
		line += fmt.Sprintf(", %d keyframes (%d in all)", s.secKey, s.keyframes)
	}
	if s.lost > 0 {
		line += fmt.Sprintf(", %d lost so far", s.lost)
	}
	s.secPackets, s.secBytes, s.secKey = 0, 0, 0
	return line
}

// total is the track's summary line.
func (s *trackStats) total() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := fmt.Sprintf("total %s %s: %d packets, %d kB", s.kind, s.name, s.packets, s.bytes/1000)
	if s.kind == "video" {
		line += fmt.Sprintf(", %d keyframes", s.keyframes)
	}
	return line + fmt.Sprintf(", %d lost", s.lost)
}

func (s *trackStats) packetCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.packets
}

// isKeyframe reports whether an RTP payload starts a keyframe.
func isKeyframe(codec string, b []byte) bool {
	switch strings.ToLower(codec) {
	case strings.ToLower(webrtc.MimeTypeH264):
		return h264Keyframe(b)
	case strings.ToLower(webrtc.MimeTypeVP8):
		return vp8Keyframe(b)
	}
	return false
}

// h264Keyframe: an IDR slice or an SPS, alone (RFC 6184 single NAL unit),
// in a STAP-A aggregate, or at the start of an FU-A fragment.
func h264Keyframe(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[0] & 0x1f {
	case 5, 7:
		return true
	case 24: // STAP-A: [size:16][NAL]...
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			if t := b[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + n
		}
	case 28: // FU-A: the start bit and the fragmented NAL's type
		return b[1]&0x80 != 0 && b[1]&0x1f == 5
	}
	return false
}

// vp8Keyframe reads the RFC 7741 payload descriptor, then the VP8 frame
// tag's inverse key frame bit in the first packet of a frame.
func vp8Keyframe(b []byte) bool {
	if len(b) < 1 || b[0]&0x10 == 0 || b[0]&0x07 != 0 { // S bit, partition 0
		return false
	}
	i := 1
	if b[0]&0x80 != 0 { // X: extension byte
		if len(b) < 2 {
			return false
		}
		x := b[1]
		i = 2
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	return len(b) > i && b[i]&0x01 == 0
}
