package sfu

import (
	"encoding/binary"
	"net/netip"

	"github.com/trtcd/trtcd/internal/limit"
)

// stunLimit bounds the STUN messages that reach pion, from each sender
// (address and port) and to each session (the local ufrag a request
// names). pion's ICE UDP mux queues a session's datagrams without bound,
// and its agent checks a request's integrity only when it takes it, one
// at a time: a client that knows a session's ufrag (its own session's
// answer) and sent binding requests with a wrong MESSAGE-INTEGRITY as fast
// as it could grew the server by 900 MB in 20 s. ICE itself sends a check
// every 50 ms per candidate pair, and a consent check every few seconds.
//
// A request from an address pion has not seen goes to the session its
// USERNAME names, so that session's limit holds for spoofed senders; one
// from a known address goes to that address's session whatever it names,
// so the sender's limit holds there. Each sender behind a NAT has its own
// port, so a school behind one address is not one sender.
type stunLimit struct {
	senders, sessions *limit.Gate
}

// newSTUNLimit limits each sender to cfg, and each session to twice it (a
// client checks from several candidates).
func newSTUNLimit(cfg limit.Config) *stunLimit {
	session := cfg
	session.PerSecond *= 2
	session.Burst *= 2
	return &stunLimit{senders: limit.NewGate(cfg), sessions: limit.NewGate(session)}
}

// allow reports whether a STUN message d from addr may go to pion.
func (l *stunLimit) allow(d []byte, addr netip.AddrPort) bool {
	if l.senders.AllowKey(addr.String()) != nil {
		return false
	}
	ufrag, ok := stunLocalUfrag(d)
	return !ok || l.sessions.AllowKey(ufrag) == nil
}

// isSTUN: a STUN message starts with two zero bits and carries the magic
// cookie (RFC 5389 §6); RFC 7983 puts its first byte in 0–3.
func isSTUN(b []byte) bool {
	return len(b) >= 20 && b[0] < 4 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442
}

// stunLocalUfrag is the first half of a request's USERNAME ("local:remote"
// from the server's side), the ufrag pion routes it by.
func stunLocalUfrag(b []byte) (string, bool) {
	const attrUsername = 0x0006
	end := min(len(b), 20+int(binary.BigEndian.Uint16(b[2:4])))
	for i := 20; i+4 <= end; {
		typ, n := binary.BigEndian.Uint16(b[i:]), int(binary.BigEndian.Uint16(b[i+2:]))
		v := b[i+4 : min(i+4+n, end)]
		if typ == attrUsername {
			for j, c := range v {
				if c == ':' {
					return string(v[:j]), true
				}
			}
			return string(v), true
		}
		i += 4 + (n+3)&^3
	}
	return "", false
}
