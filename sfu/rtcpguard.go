package sfu

import (
	"encoding/binary"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
	"golang.org/x/time/rate"

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
// Parsing costs too, on the socket reader every fast-path session shares:
// a transport-wide feedback packet of 40 bytes may declare 65,535 packet
// statuses, which pion's parser allocates (3.7 MB, 6 ms) before it finds
// the bytes missing, and pion hands a compound's unknown packets to every
// stream the compound names. So a packet is checked before it is parsed
// (cheapRTCP), and a session's RTCP is metered.
//
// It opens each SRTCP packet with its own context (the socket reader may
// not share pion's); RTCP comes a few packets a second, so its lock and
// allocations cost nothing that matters.
type rtcpGuard struct {
	mu    sync.Mutex
	ctx   *srtp.Context
	ssrcs ssrcBound
	rate  *rate.Limiter
	buf   [MaxPacketSize]byte
}

// maxRTCPSSRCs bounds the SSRCs a session's RTCP may name. pion buffers up
// to 128 KB of RTCP for each it does not read, so the bound is a few
// times what an honest session names.
const maxRTCPSSRCs = 32

// A session may send rtcpPerSecond RTCP packets (rtcpBurst at once): a
// viewer's reports, NACKs and keyframe requests come a few tens a second,
// more only in bursts of loss.
const (
	rtcpPerSecond = 200
	rtcpBurst     = 400
)

func newRTCPGuard(k *srtpkeys.Keys) *rtcpGuard {
	ctx, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile)
	if err != nil {
		return nil // no guard: pion has the packets as before
	}
	return &rtcpGuard{ctx: ctx, ssrcs: ssrcBound{max: maxRTCPSSRCs}, rate: rate.NewLimiter(rtcpPerSecond, rtcpBurst)}
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
	if !g.rate.Allow() || !cheapRTCP(plain) { // metered once it opens: a forged packet spends nothing
		return true
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

// maxCompoundRTCP bounds the packets of a compound: a client's carries a
// report and a few feedback messages.
const maxCompoundRTCP = 16

// cheapRTCP reports whether a compound RTCP packet is one pion may parse:
// each packet's length lies within the compound, there are at most
// maxCompoundRTCP of them, each of a type RFC 3550, 4585 or 3611 defines,
// and none is transport-wide congestion control feedback, which this
// server does not negotiate and whose parser allocates what its status
// count (not its length) says.
func cheapRTCP(b []byte) bool {
	for n := 0; len(b) > 0; n++ {
		if n == maxCompoundRTCP || len(b) < 4 || b[0]>>6 != 2 {
			return false
		}
		typ, format := rtcp.PacketType(b[1]), b[0]&0x1f
		size := 4 * (int(binary.BigEndian.Uint16(b[2:4])) + 1)
		switch {
		case size > len(b), typ < rtcp.TypeSenderReport, typ > rtcp.TypeExtendedReport:
			return false
		case typ == rtcp.TypeTransportSpecificFeedback && format == rtcp.FormatTCC:
			return false
		}
		b = b[size:]
	}
	return true
}

// isRTCP: RTCP's packet types 192–223 in the second byte (RFC 7983).
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0] >= 128 && b[0] <= 191 && b[1] >= 192 && b[1] <= 223
}
