package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/trtc"
)

// A connection's read loop, and what it writes: frames go through its
// send queue (wsconn), the write loop writes them.

// readLoop handles the client's frames one at a time, within the limits,
// until the connection ends.
func (c *conn) readLoop() {
	defer c.closeAfterFlush() // whatever was queued (a last error) still goes out
	defer panics.Recover(panics.WS, c.log)
	for {
		c.socket.SetReadDeadline(c.readDeadline())
		_, msg, err := c.socket.ReadMessage()
		switch {
		case err != nil && errors.Is(err, websocket.ErrReadLimit):
			c.closeWith(trtc.Errorf(trtc.CodeRateLimited, "a message is larger than %d bytes", c.srv.limits.MaxMessageBytes))
		case err != nil && !c.loggedIn() && !time.Now().Before(c.loginBy):
			c.closeWith(trtc.Errorf(trtc.CodeHeartbeatTimeout, "no login or join within %s of connecting", c.srv.limits.LoginTimeout))
		}
		if err != nil || c.out.Ending() {
			return
		}
		if !c.limiter.Allow() {
			c.closeWith(trtc.Errorf(trtc.CodeRateLimited, "more than %.0f messages per second", c.srv.limits.MessagesPerSecond))
			return
		}
		c.dispatch(msg)
	}
}

// readDeadline: the idle timeout, and before login the login deadline.
func (c *conn) readDeadline() time.Time {
	d := time.Now().Add(c.srv.limits.IdleTimeout)
	if !c.loggedIn() && c.loginBy.Before(d) {
		return c.loginBy
	}
	return d
}

// loggedIn: signed in (login or join), or following a room.
func (c *conn) loggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.login != nil || c.follower != nil
}

// send queues a frame. A client that lets MaxQueuedBytes pile up is told
// 14009 and closed: it is not reading, and must not hold the memory.
func (c *conn) send(v any) {
	b, err := encodeFrame(v)
	if err != nil || c.out.Push(b) {
		return
	}
	c.log.Debug("ws: closing a client that does not read", "queued_bytes_max", c.srv.limits.MaxQueuedBytes)
	reason, _ := encodeFrame(Reply{Type: "reply", Code: trtc.CodeRateLimited,
		Message: fmt.Sprintf("the client reads too slowly: more than %d bytes wait for it", c.srv.limits.MaxQueuedBytes)})
	c.out.Finish(reason, closeFrame, true)
}

// closeFrame ends every connection: a policy violation (1008), the reason
// told in the frame before it.
var closeFrame = websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "")

// encodeFrame is v's JSON without HTML escaping: frames go to programs,
// not into pages, and escaping makes a message of '<' six times its size.
func encodeFrame(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeLoop runs the connection's writer: a panic there ends this
// connection only.
func (c *conn) writeLoop() {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.WS, v, c.log)
			c.close()
		}
	}()
	c.out.Run(c.done)
}

// closeWith tells the client why and closes once that is written.
func (c *conn) closeWith(e *trtc.Error) {
	b, _ := encodeFrame(Reply{Type: "reply", Code: e.Code, Message: e.Message})
	c.out.Finish(b, closeFrame, false)
}

// closeAfterFlush closes once the frames queued so far are written.
func (c *conn) closeAfterFlush() { c.out.Finish(nil, closeFrame, false) }
