package live

import (
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// Real SPS/PPS from x264 baseline 320x240 (no start codes).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x20}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newMedia starts a media plane on loopback.
func newMedia(tb testing.TB) *sfu.SFU {
	tb.Helper()
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(media.Close)
	return media
}

func join(tb testing.TB, media *sfu.SFU, room, user string, publishes ...sfu.Source) *sfu.Session {
	tb.Helper()
	s, err := media.Join(room, user, publishes...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// rtpSink keeps copies of the packets a viewer's track delivers.
type rtpSink struct {
	mu      sync.Mutex
	packets [][]byte // payloads
}

func (s *rtpSink) WriteRTP(p *sfu.Packet) {
	s.mu.Lock()
	s.packets = append(s.packets, append([]byte(nil), p.Payload()...))
	s.mu.Unlock()
}

// nalTypes lists the NAL type of each payload received (28 for FU-A).
func (s *rtpSink) nalTypes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var types []byte
	for _, p := range s.packets {
		types = append(types, rtpframe.NALType(p))
	}
	return types
}

// avcHeader is the sequence header tag body of the test SPS and PPS with
// lengthSize-byte NAL lengths.
func avcHeader(lengthSize int) []byte {
	rec, _ := flv.BuildAVCConfig(testSPS, testPPS)
	rec[4] = 0xfc | byte(lengthSize-1)
	return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: rec})
}

// picture is a video tag body holding avcc, the NAL units with their
// length prefixes as the pusher wrote them.
func picture(key bool, avcc []byte) []byte {
	frame := flv.FrameInter
	if key {
		frame = flv.FrameKey
	}
	return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: frame, AVCPacketType: flv.AVCNALU, Data: avcc})
}

// lengthPrefixed writes NAL units with lengthSize-byte prefixes; a nil unit
// is written as a zero length.
func lengthPrefixed(lengthSize int, nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(n)))
		b = append(append(b, l[4-lengthSize:]...), n...)
	}
	return b
}

// tagSink is a player's TagWriter that keeps the tags.
type tagSink struct {
	mu   sync.Mutex
	tags []flv.Tag
	got  chan struct{} // signalled (without blocking) on each tag
}

func newTagSink() *tagSink { return &tagSink{got: make(chan struct{}, 1)} }

func (s *tagSink) WriteTag(t flv.Tag) error {
	s.mu.Lock()
	s.tags = append(s.tags, flv.Tag{Type: t.Type, Timestamp: t.Timestamp, Data: append([]byte(nil), t.Data...)})
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
	return nil
}

func (s *tagSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tags)
}
