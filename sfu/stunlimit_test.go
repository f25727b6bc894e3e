package sfu

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/rawudp"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// bindingRequest is what a client that knows a session's ufrag can send
// it: a binding request whose MESSAGE-INTEGRITY is wrong, which pion
// checks only once the session's agent takes it.
func bindingRequest(t *testing.T, localUfrag string) []byte {
	t.Helper()
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(localUfrag+":client"), stun.NewShortTermIntegrity("not the password"), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// STUN floods reach pion only up to the limits: one sender's flood is cut
// at its sender's burst, many senders naming one session at the session's,
// and a sender naming another session is not held up by either.
func TestSTUNFloodsAreCutBeforePion(t *testing.T) {
	socks, err := rawudp.ListenShared("udp4", "127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := limit.Config{PerSecond: 10, Burst: 50}
	m, err := newMediaConn(socks, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var toPion atomic.Int64
	go func() { // pion's ICE mux reads the socket so
		buf := make([]byte, 1500)
		for {
			if _, _, err := m.ReadFromAddrPort(buf); err != nil {
				return
			}
			toPion.Add(1)
		}
	}()
	send := func(c *net.UDPConn, d []byte, n int) {
		for i := range n {
			c.Write(d)
			if i%20 == 19 {
				time.Sleep(time.Millisecond) // the reader keeps up: nothing is lost in the socket's buffer
			}
		}
	}
	settle := func() int64 {
		for last := int64(-1); ; time.Sleep(200 * time.Millisecond) { // no progress for this long: the reader is done
			if n := toPion.Load(); n == last {
				return n
			} else {
				last = n
			}
		}
	}

	start := time.Now()
	send(dialUDP(t, m), bindingRequest(t, "victim"), 1000)
	if n, most := settle(), 50+int64(10*time.Since(start).Seconds())+1; n > most {
		t.Fatalf("one sender's flood of 1000: %d reached pion, want at most %d (its burst)", n, most)
	}

	toPion.Store(0)
	start = time.Now()
	for range 20 {
		send(dialUDP(t, m), bindingRequest(t, "victim2"), 40)
	}
	if n, most := settle(), 100+int64(20*time.Since(start).Seconds())+1; n > most {
		t.Fatalf("20 senders naming one session, 800 in all: %d reached pion, want at most %d (the session's burst)", n, most)
	}

	toPion.Store(0)
	send(dialUDP(t, m), bindingRequest(t, "bystander"), 30)
	for deadline := time.Now().Add(5 * time.Second); toPion.Load() < 30; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a sender naming another session got %d of 30 requests to pion", toPion.Load())
		}
	}
}

// A session's STUN requests reach pion from at most maxSessionSources
// addresses (each becomes a candidate pair pion keeps and searches), and a
// request carrying renomination's NOMINATION from none. Only requests that
// authenticate count, so that one who saw a session's USERNAME cannot use
// its addresses up; requests naming no session of this server, and those
// that do not authenticate, are left to pion, which drops them.
func TestASessionsSTUNComesFromAFewAddresses(t *testing.T) {
	l := newSTUNLimit(limit.Config{PerSecond: 1e6, Burst: 1e6})
	l.watch("srv", "the password")
	from := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port) }
	request := func(pwd string, attrs ...stun.Setter) []byte {
		m, err := stun.Build(append(append([]stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername("srv:client")}, attrs...),
			stun.NewShortTermIntegrity(pwd), stun.Fingerprint)...)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	for port := range uint16(100) {
		if !l.allow(request("a guess"), from(30000+port)) {
			t.Fatal("a request that does not authenticate was dropped: pion is to refuse it")
		}
	}
	passed := 0
	for port := range uint16(100) {
		if l.allow(request("the password"), from(10000+port)) {
			passed++
		}
	}
	if passed != maxSessionSources {
		t.Errorf("requests from %d of 100 ports passed, want %d", passed, maxSessionSources)
	}
	if !l.allow(request("the password"), from(10000)) {
		t.Error("a request from a known address was dropped")
	}
	if !l.allow(bindingRequest(t, "other"), from(20000)) {
		t.Error("a request naming no session of the server was dropped")
	}
	if l.allow(request("the password", stun.RawAttribute{Type: 0xC001, Value: []byte{0, 0, 0, 2}}), from(10000)) {
		t.Error("a request carrying NOMINATION passed")
	}
}

// A session's STUN sources are counted from its answer until it closes.
func TestSTUNSourcesAreCountedWhileASessionLasts(t *testing.T) {
	s := startSFU(t)
	p := publish(t, s, "room-sources", "alice", testpeer.Options{})
	stun := s.t.udp.stun
	watched := func() int {
		stun.mu.Lock()
		defer stun.mu.Unlock()
		return len(stun.watched)
	}
	if watched() != 1 {
		t.Fatalf("%d sessions' STUN sources counted, want alice's", watched())
	}
	p.session.Close()
	if watched() != 0 {
		t.Fatalf("%d sessions' STUN sources counted after alice left", watched())
	}
}
