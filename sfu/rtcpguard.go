package sfu

import (
	"encoding/binary"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// rtcpGuard bounds the SSRCs a session's RTCP may name. pion keeps a
// stream for every SSRC an RTCP packet names that it has not met (a report
// block's, a BYE's or an SDES chunk's source, feedback's media SSRC) until
// the session closes: 2,000 BYEs naming 62,000 SSRCs, 300 KB from one
// viewer, grew the server by 160 MB. Its SRTCP context keeps replay state
// for every sender SSRC too: 100,000 empty reports, each from a new one,
// grew it by 21 MB. An honest session names a few: its own, its tracks'
// and their repair streams'. Past maxRTCPSSRCs distinct ones, a packet
// naming another is dropped before pion sees it.
//
// It opens each SRTCP packet with its own context (the socket reader may
// not share pion's); RTCP comes a few packets a second, so its lock and
// allocations cost nothing that matters.
type rtcpGuard struct {
	mu    sync.Mutex
	ctx   *srtp.Context
	ssrcs ssrcBound
	buf   [MaxPacketSize]byte
}

const maxRTCPSSRCs = 64

func newRTCPGuard(k *srtpkeys.Keys) *rtcpGuard {
	ctx, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile)
	if err != nil {
		return nil // no guard: pion has the packets as before
	}
	return &rtcpGuard{ctx: ctx, ssrcs: ssrcBound{max: maxRTCPSSRCs}}
}

// drop reports whether an SRTCP datagram names an SSRC past the bound. One
// that does not open or parse is pion's to refuse. A new sender past the
// bound is dropped before it is opened, so that this context's replay
// state stays bounded too; one is counted only once its packet opens.
func (g *rtcpGuard) drop(b []byte) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	sender := binary.BigEndian.Uint32(b[4:8]) // isRTCP checked the length
	if g.ssrcs.refuses(sender) {
		return true
	}
	plain, err := g.ctx.DecryptRTCP(g.buf[:0], b, nil)
	if err != nil {
		return false
	}
	pkts, err := rtcp.Unmarshal(plain)
	if err != nil {
		return false
	}
	if !g.ssrcs.admit(sender) {
		return true
	}
	for _, p := range pkts {
		for _, ssrc := range p.DestinationSSRC() {
			if !g.ssrcs.admit(ssrc) {
				return true
			}
		}
	}
	return false
}

// isRTCP: RTCP's packet types 192–223 in the second byte (RFC 7983).
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0] >= 128 && b[0] <= 191 && b[1] >= 192 && b[1] <= 223
}
