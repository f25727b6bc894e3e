// Package wsconn owns the writes of a signalling WebSocket, for the ways
// in that speak one (/ws and the Web SDK's): a send queue bounded in bytes
// (and frames), one goroutine that writes it and pings the client, and a
// close that goes out after the frames queued before it, with a status and
// a reason, and lingers so that the client reads them.
package wsconn

import "sync"

// FrameOverhead is counted with every queued frame, so that a flood of
// tiny frames is bounded in bytes too.
const FrameOverhead = 64

// queue holds the frames waiting for a client. It grows as it fills, so
// an idle socket costs nothing up front, and a client that does not read
// cannot make it hold more than its bounds.
type queue struct {
	mu        sync.Mutex
	frames    [][]byte // not taken yet; nil is the end marker
	bytes     int      // queued or being written, FrameOverhead each more
	maxBytes  int      // 0: no bound
	maxFrames int      // on the frames not taken yet; 0: no bound
	closing   bool     // the end is queued; later frames are dropped
	closeMsg  []byte   // the close frame written at the end marker
	ready     chan struct{}
}

// Push queues b; false when it would pass a bound (nothing is queued
// then). Once the close is queued, frames are dropped (and Push says true:
// the connection is closing anyway).
func (w *Writer) Push(b []byte) bool {
	q := &w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return true
	}
	if q.maxBytes > 0 && q.bytes+len(b)+FrameOverhead > q.maxBytes || !q.room() {
		return false
	}
	q.append(b)
	return true
}

// Raise lifts the byte bound (a client that logged in); it never lowers
// it.
func (w *Writer) Raise(maxBytes int) {
	w.q.mu.Lock()
	w.q.maxBytes = max(w.q.maxBytes, maxBytes)
	w.q.mu.Unlock()
}

// Finish queues a last frame (nil: none) and the close frame closeMsg
// (websocket.FormatCloseMessage), once; drop first discards the frames not
// yet taken, for a client too slow for them. Neither counts against the
// byte bound. False when the queue has no room left for the close (its
// frame bound): the caller closes the connection at once.
func (w *Writer) Finish(last, closeMsg []byte, drop bool) bool {
	q := &w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return true
	}
	q.closing, q.closeMsg = true, closeMsg
	if drop {
		for _, b := range q.frames {
			q.bytes -= len(b) + FrameOverhead
		}
		q.frames = nil
	}
	if last != nil && q.room() {
		q.append(last)
	}
	if !q.room() {
		return false
	}
	q.append(nil)
	return true
}

// Ending says whether the close is queued: the connection takes no more
// requests.
func (w *Writer) Ending() bool {
	w.q.mu.Lock()
	defer w.q.mu.Unlock()
	return w.q.closing
}

// Take hands over the frames queued so far (nil is the end marker); they
// stay counted until sent. Run takes them; a connection driven in-process,
// without Run, reads them with Take.
func (w *Writer) Take() [][]byte {
	w.q.mu.Lock()
	defer w.q.mu.Unlock()
	f := w.q.frames
	w.q.frames = nil
	return f
}

// sent uncounts a written frame.
func (q *queue) sent(b []byte) {
	q.mu.Lock()
	q.bytes -= len(b) + FrameOverhead
	q.mu.Unlock()
}

// room says whether one more frame fits the frame bound (mu held).
func (q *queue) room() bool { return q.maxFrames <= 0 || len(q.frames) < q.maxFrames }

func (q *queue) append(b []byte) {
	q.frames = append(q.frames, b)
	q.bytes += len(b) + FrameOverhead
	select {
	case q.ready <- struct{}{}:
	default: // already signalled
	}
}

func (q *queue) closeFrame() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closeMsg
}
