package rtmp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/rtmp/flv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClient is a minimal RTMP client built from the server's own chunk
// code, to drive the server where ffmpeg cannot (bad input, pings, acks).
type testClient struct {
	t  testing.TB
	nc net.Conn
	cr *chunkReader
	bw *bufio.Writer
	cw *chunkWriter
}

func dialClient(t testing.TB, addr string) *testClient {
	t.Helper()
	return dialClientFrom(t, addr, "")
}

// dialClientFrom dials from the local IP address local ("127.0.0.2": every
// 127/8 address is loopback on Linux), to be another client address.
func dialClientFrom(t testing.TB, addr, local string) *testClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c1 := clientHandshakeC1(8)
	if _, err := nc.Write(append([]byte{3}, c1...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	s := make([]byte, 1+2*handshakeSize)
	if _, err := io.ReadFull(br, s); err != nil {
		t.Fatal(err)
	}
	if err := verifyServerHandshake(c1, s[1:1+handshakeSize], s[1+handshakeSize:]); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(s[1 : 1+handshakeSize]); err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(nc)
	return &testClient{t: t, nc: nc, cr: newChunkReader(br, 16<<20, 64), bw: bw, cw: newChunkWriter(bw)}
}

func (c *testClient) send(csid uint32, m message) error {
	if err := c.cw.writeMessage(csid, m); err != nil {
		return err
	}
	return c.bw.Flush()
}

func (c *testClient) command(streamID uint32, vals ...any) {
	c.t.Helper()
	b, err := AppendAMF0(nil, vals...)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.send(csidCommand, message{typeID: msgCommandAMF0, streamID: streamID, payload: b}); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message, following the server's Set Chunk Size.
func (c *testClient) read() (message, error) {
	m, err := c.cr.readMessage()
	if err == nil && m.typeID == msgSetChunkSize {
		v, _ := be32(m)
		c.cr.setChunkSize(v)
	}
	return m, err
}

// readCommand skips to the next command named one of names and returns its values.
func (c *testClient) readCommand(names ...string) []any {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("waiting for %v: %v", names, err)
		}
		if m.typeID != msgCommandAMF0 {
			continue
		}
		vals, err := DecodeAMF0(m.payload)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, n := range names {
			if vals[0] == n {
				return vals
			}
		}
	}
}

// statusCode returns the code of an onStatus.
func statusCode(vals []any) string {
	if len(vals) < 4 {
		return ""
	}
	obj, _ := vals[3].(Object)
	code, _ := obj.Get("code")
	s, _ := code.(string)
	return s
}

// connect runs connect + createStream and returns the stream id.
func (c *testClient) connect(app, tcURL string) uint32 {
	c.t.Helper()
	c.command(0, "connect", 1.0, Object{{"app", app}, {"tcUrl", tcURL}, {"flashVer", "test/1.0"}, {"objectEncoding", 0.0}})
	if v := c.readCommand("_result"); len(v) < 4 {
		c.t.Fatalf("connect result %v", v)
	}
	c.command(0, "createStream", 2.0, nil)
	v := c.readCommand("_result")
	id, _ := v[3].(float64)
	return uint32(id)
}

// waitClosed reads until the server hangs up.
func (c *testClient) waitClosed() error {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := c.read(); err != nil {
			return err
		}
	}
}

// recorder is a Handler that records published tags and plays them back.
type recorder struct {
	mu         sync.Mutex
	published  []flv.Tag
	publishes  []string // "app/name?query"
	refuse     error
	closed     int
	playTags   []flv.Tag
	playResult chan error
}

func (r *recorder) Publish(ctx context.Context, c *ConnInfo, app, name string, q url.Values) (Publisher, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishes = append(r.publishes, app+"/"+name+"?"+q.Encode())
	if r.refuse != nil {
		return nil, r.refuse
	}
	return r, nil
}

func (r *recorder) WriteTag(t flv.Tag) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.published = append(r.published, t)
	return nil
}

func (r *recorder) Close() {
	r.mu.Lock()
	r.closed++
	r.mu.Unlock()
}

func (r *recorder) Play(ctx context.Context, c *ConnInfo, app, name string, q url.Values, w TagWriter) error {
	r.mu.Lock()
	refuse, tags := r.refuse, r.playTags
	r.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	err := func() error {
		if len(tags) == 0 {
			<-ctx.Done() // a live stream without a publisher yet
			return nil
		}
		start := time.Now()
		base := tags[0].Timestamp
		for _, t := range tags {
			// Pace like a live source so a player sees real time pass.
			if d := time.Duration(t.Timestamp-base)*time.Millisecond - time.Since(start); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil
				}
			}
			if err := w.WriteTag(t); err != nil {
				return err
			}
		}
		return nil
	}()
	if r.playResult != nil {
		r.playResult <- err
	}
	return err
}

func (r *recorder) snapshot() ([]flv.Tag, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]flv.Tag(nil), r.published...), append([]string(nil), r.publishes...), r.closed
}

// startServer serves h on a loopback port and stops it at cleanup.
func startServer(t testing.TB, h Handler, limits Limits) (*Server, string) {
	t.Helper()
	return startServerLogging(t, h, limits, os.Stderr)
}

// startServerLogging is startServer with the log written to w.
func startServerLogging(t testing.TB, h Handler, limits Limits, w io.Writer) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	s := &Server{Handler: h, Limits: limits,
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return s, ln.Addr().String()
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
