package sfu

import (
	"net/netip"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// fastOut sends one DownTrack's packets straight to the subscriber. Only
// the goroutine of the track the DownTrack is attached to uses it.
type fastOut struct {
	srtp  *outSRTP     // shared by the fastOuts of one DownTrack across moves
	conn  *rawudp.Conn // any socket on the media port (mediaConn.sender)
	addr  netip.AddrPort
	hdr   rtp.Header
	plain [MaxPacketSize]byte
	out   [MaxPacketSize + 32]byte // room for the auth tag
}

// outSRTP is a DownTrack's own encryption context. The rollover counter
// continues pion's (set on first use). Track goroutine only.
type outSRTP struct {
	ctx    *srtp.Context
	rocSet bool
}

// send encrypts and writes a packet: the header as given, then payload and
// padding. With an outbox (the packet is forwarded by a socket reader) it
// is queued there, else sent at once.
func (o *fastOut) send(h *rtp.Header, payload []byte, ob *outbox) error {
	n, err := h.MarshalTo(o.plain[:])
	if err != nil {
		return err
	}
	n += copy(o.plain[n:], payload)
	if h.Padding && h.PaddingSize > 0 {
		pad := int(h.PaddingSize)
		clear(o.plain[n : n+pad-1])
		o.plain[n+pad-1] = h.PaddingSize
		n += pad
	}
	if ob != nil {
		out, err := o.srtp.ctx.EncryptRTP(ob.slot(), o.plain[:n], &o.hdr)
		if err == nil {
			ob.add(out, o.addr)
		}
		return err
	}
	out, err := o.srtp.ctx.EncryptRTP(o.out[:0], o.plain[:n], &o.hdr)
	if err != nil {
		return err
	}
	_, err = o.conn.WriteToAddrPort(out, o.addr)
	return err
}
