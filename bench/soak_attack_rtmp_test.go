package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/trtcd/trtcd/rtmp"
)

// rtmpAttacks hit the RTMP listener before and around login: garbage,
// handshakes a byte at a time or cut off, sockets that shake hands and
// then never publish or play, chunk-stream garbage, players of absent
// streams that never answer a ping, and a connection flood.
func rtmpAttacks(srv *soakServer, d time.Duration) []*attack {
	addr := srv.rtmp
	each := func(perSecond float64, inFlight int, gap time.Duration, f func(ctx context.Context, a *attack, addr string, i int)) func(ctx context.Context, a *attack) {
		return func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, perSecond), inFlight, gap, func(ctx context.Context, i int) { f(ctx, a, addr, i) })
		}
	}
	return []*attack{
		newAttack("RTMP", "garbage bytes, bad C0 versions", fromRTMPJunk, each(10, 10, 100*time.Millisecond, rtmpGarbage)),
		newAttack("RTMP", "handshake a byte at a time, 20 at once", fromRTMPJunk, each(10, 20, 100*time.Millisecond,
			func(ctx context.Context, a *attack, addr string, i int) { slowloris(ctx, a, addr, "\x03") })),
		newAttack("RTMP", "TCP close mid-handshake", fromRTMPJunk, each(20, 10, 50*time.Millisecond, abortHandshake)),
		newAttack("RTMP", "handshake, then never publish or play, 50 at once", fromRTMPJunk, each(20, 50, 50*time.Millisecond, neverLogin)),
		newAttack("RTMP", "chunk-stream garbage after the handshake", fromRTMPJunk, each(5, 5, 200*time.Millisecond, chunkGarbage)),
		newAttack("RTMP", "players of absent streams that never answer a ping, 20 at once", fromRTMPJunk,
			each(10, 20, 100*time.Millisecond, absentPlayer)),
		newAttack("RTMP", "connection flood: 600 silent sockets, 8 s waves", fromConnFlood, connFlood(addr, 600, 8*time.Second, d)),
	}
}

// await waits up to wait for the server to close c after a hostile write,
// and counts whether it did.
func (a *attack) await(ctx context.Context, c net.Conn, wait time.Duration) {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, c)
	switch why := classify(err); {
	case ctx.Err() != nil:
	case why == "timeout":
		a.count("still open after " + secs(wait))
	default:
		a.count("closed by server" + suffix(why))
	}
}

// rtmpGarbage sends random bytes after a good, an encrypted (RTMPE) or an
// unknown C0, and waits 3 s for the server to give up on it.
func rtmpGarbage(ctx context.Context, a *attack, addr string, i int) {
	c, ok := a.dial(ctx, addr)
	if !ok {
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c0 := [...]byte{3, 6, 0xff, byte(rand.Uint32())}[i%4]
	c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	c.Write(append([]byte{c0}, randomBytes(1+rand.IntN(4000))...))
	a.await(ctx, c, 3*time.Second)
}

// abortHandshake closes the socket at one of the handshake's steps.
func abortHandshake(ctx context.Context, a *attack, addr string, i int) {
	c, ok := a.dial(ctx, addr)
	if !ok {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c0c1 := append([]byte{3}, randomBytes(rtmpHandshakeSize)...)
	switch i % 4 {
	case 0: // part of C1
		c.Write(c0c1[:1+rand.IntN(rtmpHandshakeSize)])
		a.count("closed by us within C1")
	case 1: // part of S0S1S2 read
		c.Write(c0c1)
		io.ReadFull(c, make([]byte, 1+rand.IntN(2*rtmpHandshakeSize)))
		a.count("closed by us while reading S0S1S2")
	case 2: // half of C2
		c.Write(c0c1)
		io.ReadFull(c, make([]byte, 1+2*rtmpHandshakeSize))
		c.Write(randomBytes(rtmpHandshakeSize / 2))
		a.count("closed by us within C2")
	default: // C0C1 and gone, the server's S0S1S2 unread
		c.Write(c0c1)
		a.count("closed by us after C0C1")
	}
}

// rtmpConn shakes hands on a new connection from the attack's address.
func (a *attack) rtmpConn(ctx context.Context, addr string) (*rtmpPusher, bool) {
	c, ok := a.dial(ctx, addr)
	if !ok {
		return nil, false
	}
	p := &rtmpPusher{nc: c, bw: bufio.NewWriterSize(c, 8<<10)}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := p.handshake(); err != nil {
		c.Close()
		a.count("handshake: " + classify(err))
		return nil, false
	}
	c.SetDeadline(time.Time{})
	return p, true
}

// neverLogin shakes hands and then: sends nothing; or connects and stops
// there; or trickles a window-acknowledgement message every 2 s. A login
// deadline closes all three alike.
func neverLogin(ctx context.Context, a *attack, addr string, i int) {
	p, ok := a.rtmpConn(ctx, addr)
	if !ok {
		return
	}
	opened := time.Now()
	switch i % 3 {
	case 1:
		p.write(rtmpCSIDControl, rtmpSetChunkSize, 0, 0, binary.BigEndian.AppendUint32(nil, rtmpChunkSize))
		p.command(0, "connect", 1.0, rtmp.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://" + addr + "/live"}})
	case 2:
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for sleepCtx(tctx, 2*time.Second) {
				p.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
				p.write(rtmpCSIDControl, 5, 0, 0, binary.BigEndian.AppendUint32(nil, 2500000))
				p.bw.Flush()
			}
		}()
	}
	a.hold(ctx, p.nc, opened)
}

// chunkGarbage shakes hands, then sends chunks no client sends: absurd
// message lengths, a chunk size of 0 or 2^31-1, hundreds of chunk
// streams, continuation chunks with no first chunk, broken AMF commands.
func chunkGarbage(ctx context.Context, a *attack, addr string, i int) {
	p, ok := a.rtmpConn(ctx, addr)
	if !ok {
		return
	}
	defer p.nc.Close()
	stop := context.AfterFunc(ctx, func() { p.nc.Close() })
	defer stop()
	p.nc.SetWriteDeadline(time.Now().Add(3 * time.Second))
	p.bw.Write(badChunks(i))
	p.bw.Flush()
	a.await(ctx, p.nc, 3*time.Second)
}

// badChunks is the i-th kind of chunk-stream garbage.
func badChunks(i int) []byte {
	switch i % 7 {
	case 0:
		return randomBytes(4096)
	case 1: // a 16 MiB video message, 100 bytes of it sent
		return append([]byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, rtmpVideo, 1, 0, 0, 0}, randomBytes(100)...)
	case 2: // Set Chunk Size 0, then a message
		return append([]byte{0x02, 0, 0, 0, 0, 0, 4, rtmpSetChunkSize, 0, 0, 0, 0, 0, 0, 0, 0}, randomBytes(300)...)
	case 3: // Set Chunk Size 2^31-1, then one large message
		return append([]byte{0x02, 0, 0, 0, 0, 0, 4, rtmpSetChunkSize, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff,
			0x06, 0, 0, 0, 0x10, 0, 0, rtmpVideo, 1, 0, 0, 0}, randomBytes(2000)...)
	case 4: // 300 chunk streams in the 3-byte form
		var b []byte
		for cs := range 300 {
			b = append(b, 0x01, byte(cs), byte(cs>>8), 0, 0, 0, 0, 0, 200, rtmpAudio, 1, 0, 0, 0, 0xaf)
		}
		return b
	case 5: // continuation chunks of streams that never had a first chunk
		var b []byte
		for cs := 3; cs < 63; cs++ {
			b = append(b, 0xc0|byte(cs))
			b = append(b, randomBytes(128)...)
		}
		return b
	default: // an AMF0 command of random bytes, then a connect with nonsense
		body := randomBytes(200)
		amf, _ := rtmp.AppendAMF0(nil, "connect", 1.0, rtmp.Object{{Key: "app", Value: string(randomBytes(300))}}, 1e308, nil)
		b := append([]byte{0x03, 0, 0, 0, 0, 0, byte(len(body)), rtmpCommandAMF0, 0, 0, 0, 0}, body...)
		return append(b, append([]byte{0x03, 0, 0, 0, 0, byte(len(amf) >> 8), byte(len(amf)), rtmpCommandAMF0, 0, 0, 0, 0}, amf...)...)
	}
}

// absentPlayer plays a stream nobody publishes, with a real userSig, and
// then reads without ever answering the server's pings: a player slot the
// server must take back.
func absentPlayer(ctx context.Context, a *attack, addr string, i int) {
	p, ok := a.rtmpConn(ctx, addr)
	if !ok {
		return
	}
	opened := time.Now()
	room, viewer := fmt.Sprint(soakAttackRooms+400+i%5), "rtmp-waiter"
	sig, _ := benchAuth(room, viewer)
	stream := fmt.Sprintf("%d_%s_nobody_main?userid=%s&usersig=%s", benchApp, room, viewer, sig)
	p.nc.SetDeadline(time.Now().Add(5 * time.Second))
	err := rtmpStartPlay(p, "rtmp://"+addr+"/live", "live", stream)
	p.nc.SetDeadline(time.Time{})
	if err != nil {
		p.nc.Close()
		a.count("refused before play: " + err.Error())
		return
	}
	a.hold(ctx, p.nc, opened)
}

// rtmpStartPlay connects, creates a stream and asks to play it; what the
// server answers to the play is left unread.
func rtmpStartPlay(p *rtmpPusher, tcURL, app, stream string) error {
	if err := p.command(0, "connect", 1.0, rtmp.Object{{Key: "app", Value: app}, {Key: "tcUrl", Value: tcURL}}); err != nil {
		return err
	}
	if _, err := p.await("_result", "_error"); err != nil {
		return err
	}
	if err := p.command(0, "createStream", 2.0, nil); err != nil {
		return err
	}
	vals, err := p.await("_result", "_error")
	if err != nil {
		return err
	}
	id, _ := vals[3].(float64)
	return p.command(uint32(id), "play", 3.0, nil, stream)
}
