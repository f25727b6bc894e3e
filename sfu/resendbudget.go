package sfu

import (
	"math/bits"
	"sync/atomic"
)

// resendBurst is how many packets a subscriber may have resent beyond
// what it has been forwarded: a keyframe of a few hundred packets lost
// whole, asked for more than once.
const resendBurst = 512

// resendBudget caps the packets one subscriber's NACKs get resent: one per
// packet forwarded to it, and resendBurst ahead. A lossy viewer asks for a
// few per cent of its packets and never meets the cap. A viewer that NACKs
// everything, over and over, would otherwise make the track's goroutine
// resend the whole cache after every packet (one RTCP packet names up to
// 17 packets per 4 bytes), spending the worker that every room on its
// socket shares and filling the resend queue the track's other viewers
// need; with the cap it costs no more than a second viewer would.
//
// charge runs on the subscriber's RTCP goroutine, the budget's only
// writer; resent is counted by the track's goroutine.
type resendBudget struct {
	resent      atomic.Uint32 // packets resent: the rest of sentPackets were forwarded
	forwardedAt uint32        // forwarded packets when last charged
	debt        int32         // resends not yet earned back by forwarding; 0: a full burst
}

// charge takes the cost of a NACK entry asking for pid and the packets
// blp marks, and reports whether the subscriber may have them.
func (b *resendBudget) charge(sent uint32, blp uint16) bool {
	forwarded := sent - b.resent.Load()
	// Only ever forward: between a resend's count and its send the
	// difference is one short, and that must not be earned twice.
	if earned := int32(forwarded - b.forwardedAt); earned > 0 {
		b.forwardedAt = forwarded
		b.debt = max(b.debt-earned, 0)
	}
	cost := int32(1 + bits.OnesCount16(blp))
	if b.debt+cost > resendBurst {
		return false
	}
	b.debt += cost
	return true
}
