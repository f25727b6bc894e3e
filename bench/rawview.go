package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/peer"
)

// rawViewer receives one viewer's media on its session's socket: the
// engine's goroutine decrypts each SRTP datagram into a reused buffer and
// accounts for it in the pair's streams, one per SSRC, at the time the
// kernel received it.
type rawViewer struct {
	*rawSession
	pair    *Pair
	srtp    *srtp.Context
	hdr     rtp.Header
	buf     [8192]byte
	kinds   [128]mediaKind // by payload type, from the answer
	streams []rawInStream  // a few per viewer: a linear search is fastest
}

type mediaKind uint8

const (
	kindUnknown mediaKind = iota
	kindAudio
	kindVideo
)

// rawInStream is a received SSRC and its statistics in the pair.
type rawInStream struct {
	ssrc  uint32
	video bool
	st    *Stream
}

// startRawViewer plays through play (WHEP or /ws) into p, retrying until
// the publisher's tracks are there to play, as the pion viewer does.
func startRawViewer(ctx context.Context, e *rawEngine, p *Pair, play signal) (*rawViewer, error) {
	s, err := newRawSession(e)
	if err != nil {
		return nil, err
	}
	v := &rawViewer{rawSession: s, pair: p}
	if err := peer.ReceiveAudioVideo(s.pc); err != nil {
		s.Close()
		return nil, err
	}
	if err := v.negotiate(ctx, play); err != nil {
		s.Close()
		return nil, fmt.Errorf("play: %w", err)
	}
	if err := v.setUp(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("play: %w", err)
	}
	return v, nil
}

// negotiate retries the offer until the server answers it.
func (v *rawViewer) negotiate(ctx context.Context, play signal) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exchange(ctx, v.pc, play)
		if err == nil {
			v.pair.mu.Lock()
			if v.pair.joined.IsZero() {
				v.pair.joined = time.Now()
			}
			v.pair.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (v *rawViewer) setUp(ctx context.Context) error {
	if err := v.connect(ctx); err != nil {
		return err
	}
	var err error
	if v.srtp, err = v.keys.RemoteContext(); err != nil {
		return err
	}
	v.kinds = payloadKinds(v.pc.RemoteDescription().SDP)
	v.sock.takeMedia(v.receive)
	return nil
}

// payloadKinds reads each m= line's payload types from an SDP.
func payloadKinds(sdp string) [128]mediaKind {
	var kinds [128]mediaKind
	for _, line := range strings.Split(sdp, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "m=") {
			continue
		}
		k := kindUnknown
		switch f[0] {
		case "m=audio":
			k = kindAudio
		case "m=video":
			k = kindVideo
		}
		for _, pt := range f[3:] {
			if n, err := strconv.Atoi(pt); err == nil && n >= 0 && n < 128 {
				kinds[n] = k
			}
		}
	}
	return kinds
}

// receive accounts for one SRTP datagram; sender reports are ignored.
func (v *rawViewer) receive(d []byte, now time.Time) {
	if isRTCP(d) {
		return
	}
	pkt, err := v.srtp.DecryptRTP(v.buf[:0], d, &v.hdr)
	if err != nil {
		return
	}
	payload := rtpPayload(pkt, &v.hdr)
	in := v.stream(v.hdr.SSRC, v.kinds[v.hdr.PayloadType&0x7f])
	p := v.pair
	p.Received.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstMedia.IsZero() {
		p.firstMedia = now
	}
	if in.video && p.firstVideo.IsZero() {
		p.firstVideo = now
	}
	in.st.Seq.Add(v.hdr.SequenceNumber)
	in.st.Jitter.Add(v.hdr.Timestamp, now)
	in.st.Bytes += uint64(len(d))
	if sent, ok := peer.Stamped(payload, in.video); ok {
		if lat := now.Sub(sent); lat >= 0 && lat < 10*time.Second {
			p.latency.Add(float64(lat.Microseconds()) / 1000)
		}
	}
}

// rtpPayload is a decrypted packet's payload, without padding.
func rtpPayload(pkt []byte, h *rtp.Header) []byte {
	start := h.MarshalSize()
	end := len(pkt)
	if h.Padding && end > start {
		end -= int(pkt[end-1])
	}
	if start > end {
		return nil
	}
	return pkt[start:end]
}

// stream finds an SSRC's statistics, adding them to the pair on its first
// packet.
func (v *rawViewer) stream(ssrc uint32, kind mediaKind) *rawInStream {
	for i := range v.streams {
		if v.streams[i].ssrc == ssrc {
			return &v.streams[i]
		}
	}
	video := kind == kindVideo
	st := &Stream{Kind: "audio", Jitter: NewJitter(48000)}
	if video {
		st.Kind, st.Jitter = "video", NewJitter(90000)
	}
	v.pair.mu.Lock()
	v.pair.streams = append(v.pair.streams, st)
	v.pair.mu.Unlock()
	v.streams = append(v.streams, rawInStream{ssrc: ssrc, video: video, st: st})
	return &v.streams[len(v.streams)-1]
}
