package rtmp

import (
	"errors"
	"net"
	"testing"
	"time"
)

// A client that has not published cannot make the server hold a large
// message: announcing 1 MiB before its publish closes its connection, and
// its place is given back. Once a publish is admitted, a 1 MiB picture
// goes through.
func TestLargeMessagesOnlyAfterAPublishIsAdmitted(t *testing.T) {
	rec := &recorder{}
	s, addr := startServer(t, rec, Limits{LoginTimeout: 5 * time.Minute, ReadTimeout: 5 * time.Minute}) // only the size cap closes it

	anonymous := dialClientFrom(t, addr, "127.0.0.2")
	sid := anonymous.connect("live", "rtmp://127.0.0.1/live")
	announceVideo(t, anonymous, sid, 1<<20)
	if err := anonymous.waitClosed(); !closedNotTimedOut(err) {
		t.Fatalf("a connection announcing 1 MiB before publishing was kept open: %v", err)
	}
	waitFor(t, "the server to let go of the connection", func() bool { return s.addressConns("127.0.0.2") == 0 })

	pusher := dialClient(t, addr)
	sid = pusher.connect("live", "rtmp://127.0.0.1/live")
	pusher.command(sid, "publish", 5.0, nil, "big-keyframe", "live")
	if v := pusher.readCommand("onStatus"); statusCode(v) != "NetStream.Publish.Start" {
		t.Fatalf("publish: status %v", v)
	}
	if err := pusher.send(csidVideo, message{typeID: msgVideo, streamID: sid, payload: make([]byte, 1<<20)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 1 MiB picture to reach the handler", func() bool {
		tags, _, _ := rec.snapshot()
		return len(tags) == 1 && len(tags[0].Data) == 1<<20
	})
}

// announceVideo sends the first chunk of a video message of length bytes,
// and no more: a message the server must buffer if it accepts it.
func announceVideo(t *testing.T, c *testClient, streamID uint32, length int) {
	t.Helper()
	header := []byte{byte(csidVideo), 0, 0, 0, byte(length >> 16), byte(length >> 8), byte(length), msgVideo,
		byte(streamID), byte(streamID >> 8), byte(streamID >> 16), byte(streamID >> 24)}
	if _, err := c.nc.Write(append(header, make([]byte, defaultChunkSize)...)); err != nil {
		t.Fatal(err)
	}
}

// closedNotTimedOut: the server closed the connection (EOF, reset), rather
// than the read waiting in vain.
func closedNotTimedOut(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
