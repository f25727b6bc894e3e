package wsconn

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// recorder is a socket that keeps what is written to it, and fails the
// writes after failAfter of them (0: never).
type recorder struct {
	mu        sync.Mutex
	kinds     []int
	frames    [][]byte
	failAfter int
}

func (r *recorder) WriteMessage(kind int, b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAfter > 0 && len(r.kinds) >= r.failAfter {
		return errors.New("broken pipe")
	}
	r.kinds, r.frames = append(r.kinds, kind), append(r.frames, b)
	return nil
}

func (r *recorder) SetWriteDeadline(time.Time) error { return nil }

func (r *recorder) written() ([]int, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.kinds...), append([][]byte(nil), r.frames...)
}

// closer counts the calls of Config.Close.
type closer struct {
	mu    sync.Mutex
	calls int
}

func (c *closer) close() {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
}

func (c *closer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// The byte bound counts FrameOverhead with every frame: a client that does
// not read is refused the frame that would pass it, not an earlier one.
func TestPushKeepsToTheByteBound(t *testing.T) {
	w := New(nil, Config{MaxBytes: 3 * (100 + FrameOverhead)})
	for i := range 3 {
		if !w.Push(make([]byte, 100)) {
			t.Fatalf("frame %d of 3 refused", i+1)
		}
	}
	if w.Push([]byte{1}) {
		t.Fatal("a frame past the bound was queued")
	}
	w.Raise(4 * (100 + FrameOverhead))
	if !w.Push(make([]byte, 100)) {
		t.Fatal("a frame within the raised bound was refused")
	}
}

// The frame bound holds the frames not yet taken; the close always finds
// room unless the frames fill it, and then the caller closes at once.
func TestFinishNeedsRoomForTheClose(t *testing.T) {
	w := New(nil, Config{MaxFrames: 2})
	w.Push([]byte("a"))
	w.Push([]byte("b"))
	if w.Push([]byte("c")) {
		t.Fatal("a third frame was queued past a bound of two")
	}
	if w.Finish([]byte("why"), nil, false) {
		t.Fatal("a close that did not fit was reported queued")
	}
	w = New(nil, Config{MaxFrames: 2})
	w.Push([]byte("a"))
	w.Push([]byte("b"))
	if !w.Finish([]byte("why"), nil, true) {
		t.Fatal("dropping the frames left no room for the close")
	}
	if got := w.Take(); len(got) != 2 || string(got[0]) != "why" || got[1] != nil {
		t.Fatalf("after a dropping finish the queue holds %q, want the reason and the end", got)
	}
	if !w.Ending() || !w.Push([]byte("late")) || len(w.Take()) != 0 {
		t.Fatal("a frame after the close was queued, or refused as if over the bound")
	}
}

// Run writes the frames in order, then the close frame, and closes the
// connection after the linger; Finish only once.
func TestRunWritesTheFramesThenTheClose(t *testing.T) {
	sock, c := &recorder{}, &closer{}
	w := New(sock, Config{Ping: time.Hour, Close: c.close})
	done := make(chan struct{})
	ran := make(chan struct{})
	go func() { w.Run(done); close(ran) }()
	w.Push([]byte("one"))
	w.Push([]byte("two"))
	closeMsg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	w.Finish([]byte("last"), closeMsg, false)
	w.Finish(nil, []byte("ignored"), false)
	<-ran
	kinds, frames := sock.written()
	want := []string{"one", "two", "last", string(closeMsg)}
	if len(frames) != len(want) || kinds[3] != websocket.CloseMessage {
		t.Fatalf("wrote %q (kinds %v), want %q with a close last", frames, kinds, want)
	}
	for i := range want {
		if string(frames[i]) != want[i] {
			t.Fatalf("frame %d is %q, want %q", i, frames[i], want[i])
		}
	}
	if c.count() != 0 {
		t.Fatal("closed before the linger")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.count() != 1 {
		t.Fatalf("closed %d times after the linger, want once", c.count())
	}
}

// A write that fails closes the connection at once and ends the loop; the
// frame that failed leaves the byte count as the written one does.
func TestRunClosesOnAFailedWrite(t *testing.T) {
	sock, c := &recorder{failAfter: 1}, &closer{}
	w := New(sock, Config{MaxBytes: 2 * (10 + FrameOverhead), Ping: time.Hour, Close: c.close})
	w.Push(make([]byte, 10))
	w.Push(make([]byte, 10))
	w.Run(make(chan struct{}))
	if c.count() != 1 {
		t.Fatalf("closed %d times, want once", c.count())
	}
	if w.q.bytes != 0 {
		t.Fatalf("%d bytes counted after one frame written and one failed, want 0", w.q.bytes)
	}
}

// The client is pinged every Ping.
func TestRunPings(t *testing.T) {
	sock := &recorder{}
	w := New(sock, Config{Ping: 10 * time.Millisecond, Close: func() {}})
	done := make(chan struct{})
	go func() { time.Sleep(100 * time.Millisecond); close(done) }()
	w.Run(done)
	kinds, _ := sock.written()
	if len(kinds) < 2 || kinds[0] != websocket.PingMessage {
		t.Fatalf("wrote %v in 100 ms, want pings every 10 ms", kinds)
	}
}
