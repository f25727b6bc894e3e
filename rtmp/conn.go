package rtmp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/panics"
)

// conn is one client connection. The read loop (serve) owns the chunk
// reader and all command state; the write loop owns the chunk writer; play
// goroutines only queue messages. Nothing else is shared, so there are no
// locks on the media path.
type conn struct {
	srv    *Server
	nc     net.Conn
	limits Limits
	log    *slog.Logger

	ctx    context.Context // ends when the connection ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // write loop and play goroutines

	// read side, read loop only
	in        *countingReader
	cr        *chunkReader
	ackWindow uint32 // peer's Window Acknowledgement Size; 0 = no acks
	lastAck   uint64
	idleSince time.Time
	loginBy   time.Time // accept + LoginTimeout
	loggedIn  bool      // a publish or play has started

	started time.Time   // accept; ping timestamps count from it
	playing atomic.Bool // the read loop saw a play running: the write loop pings

	// command state, read loop only
	connected bool
	hangingUp bool // a refusal is queued; stop reading, let it flush
	info      ConnInfo
	app       string
	appQuery  url.Values
	streams   map[uint32]*netStream
	nextSID   uint32

	out    chan outMsg  // to the write loop
	queued atomic.Int64 // payload bytes in out
}

// outMsg is one queued message; closeAfter makes the write loop flush and
// hang up after it (refusals must reach the client before the close).
type outMsg struct {
	csid       uint32
	m          message
	closeAfter bool
}

// countingReader counts received bytes for acknowledgements.
type countingReader struct {
	r    io.Reader
	n    uint64
	rate *rate.Limiter // nil: no cap (Limits.ReadKbps)
	ctx  context.Context
}

// Read reads, then waits until the bytes fit the connection's rate: the
// socket is not read meanwhile, so TCP's flow control slows the sender.
func (c *countingReader) Read(b []byte) (int, error) {
	if c.rate != nil {
		b = b[:min(len(b), c.rate.Burst())]
	}
	n, err := c.r.Read(b)
	c.n += uint64(n)
	if c.rate != nil && n > 0 {
		if werr := c.rate.WaitN(c.ctx, n); werr != nil && err == nil {
			err = werr // the connection is closing
		}
	}
	return n, err
}

// readRate is the limiter of Limits.ReadKbps, a second of it deep; nil
// when the cap is off.
func readRate(kbps int) *rate.Limiter {
	if kbps <= 0 {
		return nil
	}
	perSecond := kbps * 1000 / 8
	return rate.NewLimiter(rate.Limit(perSecond), perSecond)
}

// commandMaxMessage caps each message until a publish is admitted, and a
// player's throughout. Before that a client sends only AMF commands
// (connect, createStream, publish, play: ffmpeg's connect, the largest, is
// about 300 bytes), and a player later sends only acks and pings; 64 KiB
// leaves room for long URLs and tokens. Without it an anonymous connection
// could hold 2 × MaxMessageSize (8 MiB) in partial messages: 40 such took a
// server from 34 to 360 MB.
const commandMaxMessage = 64 << 10

func newConn(s *Server, nc net.Conn, limits Limits, log *slog.Logger) *conn {
	c := &conn{srv: s, nc: nc, limits: limits, log: log, streams: make(map[uint32]*netStream),
		out: make(chan outMsg, limits.WriteQueue)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.in = &countingReader{r: nc, rate: readRate(limits.ReadKbps), ctx: c.ctx}
	c.started = time.Now()
	c.loginBy = c.started.Add(limits.LoginTimeout)
	return c
}

// shutdown ends the connection from any goroutine; the loops notice.
func (c *conn) shutdown() {
	c.cancel()
	c.nc.Close()
}

func (c *conn) serve() {
	c.log.Debug("rtmp: connected")
	defer c.end()
	br := bufio.NewReaderSize(c.in, 16<<10)
	err := c.runRecovering(br)
	// A peer hanging up, or us closing (refusal, slow player, Server.Close),
	// is routine; anything else is the peer's fault and worth an info line
	// (a panic has had its error line).
	routine := c.ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, errPanicked)
	if routine {
		c.log.Debug("rtmp: disconnected", "err", err)
	} else {
		c.log.Info("rtmp: connection closed", "err", err)
	}
}

// errPanicked ends a connection whose read loop panicked.
var errPanicked = errors.New("rtmp: panic recovered")

// runRecovering is run, but a panic (a bug that a client's bytes or a
// Handler reached) is recovered, counted and logged, and ends only this
// connection; it is counted before the connection closes.
func (c *conn) runRecovering(br *bufio.Reader) (err error) {
	err = errPanicked // what is returned if run panics
	defer panics.Recover(panics.RTMP, c.log)
	return c.run(br)
}

// end closes the connection and waits for its goroutines. It is deferred,
// so it also runs when a Handler panicked on the read loop; each stream is
// stopped on its own, so one Publisher.Close that panics too cannot leave
// the others running.
func (c *conn) end() {
	c.shutdown()
	for _, st := range c.streams {
		c.stopStream(st)
	}
	c.wg.Wait()
}

func (c *conn) stopStream(st *netStream) {
	defer panics.Recover(panics.RTMP, c.log)
	st.stop()
}

func (c *conn) run(br *bufio.Reader) error {
	complex, err := serverHandshake(c.nc, br, c.limits.ReadTimeout, c.loginBy)
	if err != nil {
		return err
	}
	c.log.Debug("rtmp: handshake done", "digest", complex)
	c.cr = newChunkReader(br, min(commandMaxMessage, c.limits.MaxMessageSize), c.limits.MaxChunkStreams)
	c.wg.Add(1)
	go c.writeLoop()
	c.idleSince = time.Now()

	for {
		active := c.activeStreams()
		c.playing.Store(active.playing)
		if err := c.nc.SetReadDeadline(c.readDeadline(active)); err != nil {
			return err
		}
		m, err := c.cr.readMessage()
		if err != nil {
			return err
		}
		if err := c.maybeAck(); err != nil {
			return err
		}
		if err := c.handleMessage(m); err != nil {
			return err
		}
		if c.hangingUp {
			// The write loop closes the connection once the refusal is out;
			// closing here could cut it off.
			select {
			case <-c.ctx.Done():
			case <-time.After(c.limits.WriteTimeout):
			}
			return errors.New("rtmp: refused")
		}
		if active.playing || active.publishing {
			c.idleSince = time.Now()
		} else if time.Since(c.idleSince) > c.limits.IdleTimeout {
			return errors.New("rtmp: idle: neither publishing nor playing")
		}
	}
}

// readDeadline is how long the read loop waits for the next message. A
// publisher sends media all the time. A player may have nothing to say for
// minutes, but the write loop pings it every PingInterval and a live one
// answers. Before a publish or play has started, the whole login must end
// by loginBy, however the client trickles its bytes.
func (c *conn) readDeadline(a activity) time.Time {
	switch {
	case a.publishing:
		return time.Now().Add(c.limits.ReadTimeout)
	case a.playing:
		return time.Now().Add(c.limits.PingInterval + c.limits.ReadTimeout)
	case !c.loggedIn:
		return deadline(c.limits.ReadTimeout, c.loginBy)
	}
	return time.Now().Add(c.limits.ReadTimeout)
}

type activity struct{ playing, publishing bool }

func (c *conn) activeStreams() activity {
	var a activity
	for _, st := range c.streams {
		a.publishing = a.publishing || st.publisher != nil
		a.playing = a.playing || st.isPlaying()
	}
	return a
}

// maybeAck sends an Acknowledgement once the peer's window is used up;
// publishers such as FMLE stop sending when they get none.
func (c *conn) maybeAck() error {
	if c.ackWindow == 0 || c.in.n-c.lastAck < uint64(c.ackWindow) {
		return nil
	}
	c.lastAck = c.in.n
	return c.send(csidControl, uint32Msg(msgAck, uint32(c.in.n))) // the sequence number wraps by design
}

// send queues m, waiting for room; used for control and command replies.
func (c *conn) send(csid uint32, m message) error {
	c.queued.Add(int64(len(m.payload))) // small: control and replies
	select {
	case c.out <- outMsg{csid: csid, m: m}:
		return nil
	case <-c.ctx.Done():
		return ErrClosed
	}
}

// sendAndClose queues m and hangs up once it is written.
func (c *conn) sendAndClose(csid uint32, m message) {
	c.queued.Add(int64(len(m.payload)))
	select {
	case c.out <- outMsg{csid: csid, m: m, closeAfter: true}:
	case <-c.ctx.Done():
	}
}

// trySend queues m without waiting; a full queue (WriteQueue messages, or
// WriteQueueBytes) means the client cannot keep up, and it is disconnected
// rather than allowed to hold others back or memory: each queued picture
// is a copy of its own.
func (c *conn) trySend(csid uint32, m message) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	n := int64(len(m.payload))
	if c.queued.Add(n) <= int64(c.limits.WriteQueueBytes) {
		select {
		case c.out <- outMsg{csid: csid, m: m}:
			return nil
		default:
		}
	}
	c.queued.Add(-n)
	c.log.Info("rtmp: player too slow, disconnecting", "queue", c.limits.WriteQueue, "queued_bytes", c.queued.Load())
	c.shutdown()
	return ErrSlowConsumer
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	bw := bufio.NewWriterSize(c.nc, 16<<10)
	cw := newChunkWriter(bw)
	ping := time.NewTicker(c.limits.PingInterval)
	defer ping.Stop()
	for {
		var om outMsg
		select {
		case om = <-c.out:
			c.queued.Add(-int64(len(om.m.payload)))
		case <-ping.C:
			if !c.playing.Load() {
				continue
			}
			om = outMsg{csid: csidControl, m: userControlMsg(eventPingRequest, uint32(time.Since(c.started).Milliseconds()))}
		case <-c.ctx.Done():
			return
		}
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.limits.WriteTimeout)); err != nil {
			c.shutdown()
			return
		}
		err := cw.writeMessage(om.csid, om.m)
		if err == nil && om.m.typeID == msgSetChunkSize {
			cw.chunkSize = uint32(outChunkSize) // the only size we ever announce
		}
		// Flush when nothing else is waiting: batches bursts into few
		// syscalls, adds no latency when idle.
		if err == nil && (len(c.out) == 0 || om.closeAfter) {
			err = bw.Flush()
		}
		if err != nil || om.closeAfter {
			if err != nil && c.ctx.Err() == nil {
				c.log.Debug("rtmp: write", "err", err)
			}
			c.shutdown()
			return
		}
	}
}
