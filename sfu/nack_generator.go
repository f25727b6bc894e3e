package sfu

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// nackGenerator asks a WebRTC publisher for the packets that did not
// arrive, on either path (pion's NACK interceptor would tick every 100 ms
// for every connection, and sees nothing of the fast path). It runs on the
// track's goroutine: gaps are noted as packets arrive and asked for at most
// nackTries times, nackInterval apart.
type nackGenerator struct {
	send     func(ssrc uint32, pairs []rtcp.NackPair)
	started  bool
	next     uint16 // the sequence number expected next
	missing  [nackWindow]missingPacket
	count    int
	lastSent int64
	pairs    []rtcp.NackPair
}

func newNackGenerator(pc *webrtc.PeerConnection) *nackGenerator {
	return &nackGenerator{send: func(ssrc uint32, pairs []rtcp.NackPair) {
		pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}})
	}}
}

type missingPacket struct {
	seq   uint16
	tries uint8
}

const (
	nackWindow   = 64
	nackTries    = 3
	nackInterval = int64(20e6) // 20 ms: a loopback or LAN round trip and then some
)

// observe records an arriving packet and, now and then, sends NACKs.
func (g *nackGenerator) observe(p *Packet) {
	switch {
	case !g.started:
		g.started, g.next = true, p.SequenceNumber+1
	case p.SequenceNumber == g.next:
		g.next++
	case SeqNewer(p.SequenceNumber, g.next): // a gap
		for s := g.next; s != p.SequenceNumber && g.count < nackWindow; s++ {
			g.missing[g.count] = missingPacket{seq: s}
			g.count++
		}
		g.next = p.SequenceNumber + 1
	default: // a late packet: it is no longer missing
		for i := 0; i < g.count; i++ {
			if g.missing[i].seq == p.SequenceNumber {
				g.count--
				g.missing[i] = g.missing[g.count]
				break
			}
		}
	}
	if g.count > 0 && p.Arrival-g.lastSent >= nackInterval {
		g.flush(p.SSRC, p.Arrival)
	}
}

func (g *nackGenerator) flush(ssrc uint32, now int64) {
	g.pairs = g.pairs[:0]
	kept := 0
	for i := 0; i < g.count; i++ {
		m := g.missing[i]
		if m.tries >= nackTries || !SeqNewer(g.next, m.seq) || g.next-m.seq > 1000 {
			continue // given up on
		}
		m.tries++
		g.missing[kept] = m
		kept++
		g.pairs = appendNack(g.pairs, m.seq)
	}
	g.count = kept
	g.lastSent = now
	if len(g.pairs) > 0 {
		g.send(ssrc, g.pairs)
	}
}

// appendNack adds seq to NACK pairs (packet id plus a 16-bit mask).
func appendNack(pairs []rtcp.NackPair, seq uint16) []rtcp.NackPair {
	for i := range pairs {
		if d := seq - pairs[i].PacketID; d >= 1 && d <= 16 {
			pairs[i].LostPackets |= rtcp.PacketBitmap(1 << (d - 1))
			return pairs
		}
	}
	return append(pairs, rtcp.NackPair{PacketID: seq})
}
