package sfu

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"

	"github.com/pion/stun/v4"

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
//
// Each address a session's requests come from becomes a peer-reflexive
// candidate and a candidate pair in pion, which it keeps, checks and
// searches linearly until the session ends: requests from 2,000 ports
// made 2,000 pairs, each new one dearer than the last, and before the
// session connects each got 10 checks back. So a session's requests come
// from at most maxSessionSources addresses. And a request carrying
// NOMINATION (renomination, which the server never offers) is dropped: in
// pion each one with a higher value moves the session's selected pair.
type stunLimit struct {
	senders, sessions *limit.Gate

	mu       sync.Mutex
	watched  map[string]*stunSession         // by the ufrag of each session (watch)
	bySource map[netip.AddrPort]*stunSession // the sessions' sources
}

// stunSession is a session's sources and, once it is connected, its screen.
type stunSession struct {
	sources   map[netip.AddrPort]struct{}
	integrity stun.MessageIntegrity // its requests'
	screen    *screen
}

// maxSessionSources: a client checks from each of its candidates, a few
// host and relay addresses, and a NAT may move it to a new port a few
// times in a call.
const maxSessionSources = 32

// newSTUNLimit limits each sender to cfg, and each session to twice it (a
// client checks from several candidates).
func newSTUNLimit(cfg limit.Config) *stunLimit {
	session := cfg
	session.PerSecond *= 2
	session.Burst *= 2
	return &stunLimit{senders: limit.NewGate(cfg), sessions: limit.NewGate(session),
		watched: map[string]*stunSession{}, bySource: map[netip.AddrPort]*stunSession{}}
}

// allow reports whether a STUN message d from addr may go to pion.
func (l *stunLimit) allow(d []byte, addr netip.AddrPort) bool {
	if l.senders.AllowKey(addr.String()) != nil {
		return false
	}
	ufrag, ok, nomination := stunAttributes(d)
	switch {
	case nomination:
		return false
	case !ok:
		return true
	}
	return l.sessions.AllowKey(ufrag) == nil && l.fromKnownSource(d, ufrag, addr)
}

// watch starts counting the addresses the requests to a session (its
// local ufrag and password) come from; forget ends it.
func (l *stunLimit) watch(ufrag, pwd string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watched[ufrag] = &stunSession{sources: map[netip.AddrPort]struct{}{}, integrity: stun.NewShortTermIntegrity(pwd)}
}

func (l *stunLimit) forget(ufrag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.watched[ufrag]; s != nil {
		for addr := range s.sources {
			if l.bySource[addr] == s {
				delete(l.bySource, addr)
			}
		}
		delete(l.watched, ufrag)
	}
}

// setScreen gives a watched session's screen: packets from its sources
// that are not its route's meet it (screenOfSource, screenOfSession).
func (l *stunLimit) setScreen(ufrag string, sc *screen) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.watched[ufrag]; s != nil {
		s.screen = sc
	}
}

// screenOfSource is the screen of the session addr is a source of, if any.
func (l *stunLimit) screenOfSource(addr netip.AddrPort) route {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bySource[addr].screenRoute()
}

// screenOfSession is the screen of the session ufrag names, if any.
func (l *stunLimit) screenOfSession(ufrag string) route {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.watched[ufrag].screenRoute()
}

// screenRoute is the session's screen as a route: nil (not a nil *screen)
// when there is none.
func (s *stunSession) screenRoute() route {
	if s == nil || s.screen == nil {
		return nil
	}
	return s.screen
}

// fromKnownSource reports whether request d from addr may reach pion: it
// comes from one of the addresses a session's requests come from, or
// becomes one. Only a request that authenticates counts (pion makes a
// candidate of no other), so that nobody who merely saw a session's
// USERNAME can use up its addresses. A request naming no session of this
// server passes: pion drops it.
func (l *stunLimit) fromKnownSource(d []byte, ufrag string, addr netip.AddrPort) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.watched[ufrag]
	if s == nil {
		return true
	}
	if _, ok := s.sources[addr]; ok {
		return true
	}
	m := &stun.Message{Raw: append([]byte(nil), d...)} // a new address: rare
	if m.Decode() != nil || s.integrity.Check(m) != nil {
		return true // pion refuses it too
	}
	if len(s.sources) >= maxSessionSources {
		return false
	}
	s.sources[addr] = struct{}{}
	if _, taken := l.bySource[addr]; !taken { // an address is the first session's that it checked
		l.bySource[addr] = s
	}
	return true
}

// isSTUN: a STUN message starts with two zero bits and carries the magic
// cookie (RFC 5389 §6); RFC 7983 puts its first byte in 0–3.
func isSTUN(b []byte) bool {
	return len(b) >= 20 && b[0] < 4 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442
}

// stunAttributes reads a request's USERNAME, whose first half ("local:
// remote" from the server's side) is the ufrag pion routes it by, and
// whether it carries NOMINATION (0xC001, draft-thatcher-ice-renomination).
func stunAttributes(b []byte) (ufrag string, ok, nomination bool) {
	const attrUsername, attrNomination = 0x0006, 0xC001
	end := min(len(b), 20+int(binary.BigEndian.Uint16(b[2:4])))
	for i := 20; i+4 <= end; {
		typ, n := binary.BigEndian.Uint16(b[i:]), int(binary.BigEndian.Uint16(b[i+2:]))
		v := b[i+4 : min(i+4+n, end)]
		switch typ {
		case attrUsername:
			local, _, _ := strings.Cut(string(v), ":")
			ufrag, ok = local, true
		case attrNomination:
			nomination = true
		}
		i += 4 + (n+3)&^3
	}
	return ufrag, ok, nomination
}
