package sfu

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// screen is what stands between a connected session and pion, one per
// session for its whole life (a pair change moves it, and its counts go
// on). It is the route of a session whose packets pion reads: one that
// only receives, one on ICE-TCP, and every session under --no-fast-path;
// a fast-path publisher's route uses it for what it hands to pion; and
// packets from the session's other addresses (pion takes media from any
// address that passed a check) meet it too (mediaConn.routeOf).
//
// pion keeps state for every SSRC it meets until the session ends, so the
// screen drops what would grow it without end: a receive-only session's
// RTP (under new SSRCs, 20,000 grew the server by 150 MB), a publisher's
// RTP under more SSRCs than maxUnknownSSRCs, and RTCP naming too many
// (rtcpGuard: 2,000 BYEs, 600 KB over ICE-TCP, grew it by 155 MB).
type screen struct {
	rtcp *rtcpGuard
	mu   sync.Mutex // the readers of a session's UDP and TCP paths may overlap at a pair change
	rtp  ssrcBound  // bound 0 for a session that only receives
	lateDTLS
}

func newScreen(k *srtpkeys.Keys, publishing bool) *screen {
	s := &screen{rtcp: newRTCPGuard(k)}
	if publishing {
		s.rtp.max = maxUnknownSSRCs
	}
	return s
}

// handle reports whether an RTP packet is dropped; the rest go to pion.
func (s *screen) handle(b []byte, _ *outbox) bool { return !s.toPion(rtpSSRC(b)) }

// toPion reports whether RTP under ssrc may go to pion.
func (s *screen) toPion(ssrc uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtp.admit(ssrc)
}

func (s *screen) dropRTCP(b []byte) bool { return s.rtcp.drop(b) }

// lateDTLS drops what a connected session sends over DTLS that pion would
// keep. pion keeps every handshake record in the session's handshake
// cache, even after the handshake (20 MB of them grew the server by
// 29 MB); a client whose last flight went unanswered (the server's reply
// was lost) sends it again a few times, so the first maxLateHandshakes
// still reach pion. Application data would be a data channel's, which the
// server refuses (sdp.go): with no reader, pion's DTLS connection holds it,
// up to 1 MB, and stops reading the session's alerts.
type lateDTLS struct{ handshakes atomic.Int32 }

const maxLateHandshakes = 64

// DTLS content types (RFC 6347).
const (
	dtlsHandshake       = 22
	dtlsApplicationData = 23
)

// dropDTLS reports whether a DTLS record is dropped.
func (l *lateDTLS) dropDTLS(b []byte) bool {
	switch b[0] {
	case dtlsApplicationData:
		return true
	case dtlsHandshake:
		if l.handshakes.Load() >= maxLateHandshakes {
			return true
		}
		l.handshakes.Add(1)
	}
	return false
}

// isDTLS: a DTLS record starts with a content type, 20–63 (RFC 7983).
func isDTLS(b []byte) bool { return len(b) > 0 && b[0] >= 20 && b[0] <= 63 }

// ssrcBound admits up to max distinct SSRCs, and again any it admitted.
type ssrcBound struct {
	seen map[uint32]struct{}
	max  int
}

func (b *ssrcBound) admit(ssrc uint32) bool {
	if _, ok := b.seen[ssrc]; ok {
		return true
	}
	if b.full() {
		return false
	}
	if b.seen == nil {
		b.seen = map[uint32]struct{}{}
	}
	b.seen[ssrc] = struct{}{}
	return true
}

// refuses reports whether admit would refuse ssrc, without admitting it.
func (b *ssrcBound) refuses(ssrc uint32) bool {
	_, ok := b.seen[ssrc]
	return !ok && b.full()
}

func (b *ssrcBound) full() bool { return len(b.seen) >= b.max }

// rtpSSRC is an RTP packet's SSRC (isRTP checked its length).
func rtpSSRC(b []byte) uint32 { return binary.BigEndian.Uint32(b[8:12]) }
