package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// ufragBox keeps the ICE user fragments of the server's recent answers, so
// that garbage STUN can name real sessions.
type ufragBox struct {
	mu  sync.Mutex
	all []string
}

func (b *ufragBox) add(answer string) {
	for _, line := range strings.Split(answer, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			b.mu.Lock()
			b.all = append(b.all, u)
			if len(b.all) > 50 {
				b.all = b.all[1:]
			}
			b.mu.Unlock()
			return
		}
	}
}

func (b *ufragBox) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.all) == 0 {
		return "nobody"
	}
	return b.all[rand.IntN(len(b.all))]
}

// udpGarbage sends 10 datagrams every 10 ms (n at most), from a new
// source port every 500: each new port is a new client to the server.
// What the server answers is counted: answers to garbage are what an
// amplification attack would use.
func udpGarbage(ctx context.Context, a *attack, srv *soakServer, box *ufragBox, n int) {
	raddr, err := net.ResolveUDPAddr("udp4", srv.udp)
	if err != nil {
		a.count("resolve: " + err.Error())
		return
	}
	var c *net.UDPConn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	defer func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.outcomes) == 0 {
			a.outcomes["not one datagram answered"] = 1
		}
	}()
	for sent := 0; sent < n; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if sent%500 == 0 {
			if c != nil {
				c.Close()
			}
			if c, err = net.DialUDP("udp4", &net.UDPAddr{IP: a.from}, raddr); err != nil {
				a.count("socket: " + err.Error())
				return
			}
			a.tries.Add(1)
			go countAnswers(c, a)
		}
		for range 10 {
			if _, err := c.Write(garbageDatagram(sent, box)); err != nil {
				a.count("write: " + classify(err))
			}
			sent++
			a.sent.Add(1)
		}
	}
}

// countAnswers counts the datagrams the server sends back to c, until c
// closes.
func countAnswers(c *net.UDPConn, a *attack) {
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if n >= 20 && buf[0] < 2 && binary.BigEndian.Uint32(buf[4:8]) == 0x2112a442 {
			a.count(fmt.Sprintf("answered: STUN type 0x%04x", binary.BigEndian.Uint16(buf[:2])))
		} else {
			a.count("answered: not STUN")
		}
	}
}

// garbageDatagram is the n-th kind of junk for the media port.
func garbageDatagram(n int, box *ufragBox) []byte {
	switch n % 9 {
	case 0:
		return randomBytes(1 + rand.IntN(1400))
	case 1:
		return stunRequest(fmt.Sprintf("%x:%x", rand.Uint32(), rand.Uint32()), false)
	case 2:
		return stunRequest(box.pick()+":soak", true)
	case 3: // a STUN header that claims 1,000 bytes
		b := stunRequest("x:y", false)
		b[2], b[3] = 0x03, 0xe8
		return b
	case 4: // a STUN attribute longer than the datagram
		b := stunRequest("", false)[:20]
		return append(b, 0x00, 0x06, 0xff, 0xff, 'a')
	case 5: // a DTLS ClientHello record of junk
		return append([]byte{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01}, randomBytes(256)...)
	case 6: // RTP with an SSRC nobody announced
		return append([]byte{0x80, 0x60, byte(n >> 8), byte(n), 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}, randomBytes(20+rand.IntN(1200))...)
	case 7:
		return append([]byte{0x80, 0xc8, 0x00, 0x06}, randomBytes(24)...)
	}
	return [][]byte{{}, {0x00}, {0xff}}[rand.IntN(3)]
}

// stunRequest is a Binding request for user (ICE's "remote:local") with a
// wrong fingerprint and, when integrity is set, a MESSAGE-INTEGRITY of
// random bytes.
func stunRequest(user string, integrity bool) []byte {
	var attrs []byte
	attrs = stunAttr(attrs, 0x0006, []byte(user))
	attrs = stunAttr(attrs, 0x0024, []byte{0x6e, 0x7f, 0x1e, 0xff}) // PRIORITY
	if integrity {
		attrs = stunAttr(attrs, 0x0008, randomBytes(20))
	}
	attrs = stunAttr(attrs, 0x8028, randomBytes(4)) // FINGERPRINT
	h := []byte{0x00, 0x01, byte(len(attrs) >> 8), byte(len(attrs)), 0x21, 0x12, 0xa4, 0x42}
	return append(append(h, randomBytes(12)...), attrs...)
}

func stunAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
