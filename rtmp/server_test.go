package rtmp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/rtmp/flv"
)

func TestPublisherTagsReachTheHandler(t *testing.T) {
	rec := &recorder{}
	_, addr := startServer(t, rec, Limits{})
	c := dialClient(t, addr)
	sid := c.connect("live?sign=abc", "rtmp://127.0.0.1/live?sign=abc&x=0")
	c.command(0, "releaseStream", 3.0, nil, "stream")
	c.command(0, "FCPublish", 4.0, nil, "stream")
	c.command(sid, "publish", 5.0, nil, "stream?x=1", "live")
	if v := c.readCommand("onStatus"); statusCode(v) != "NetStream.Publish.Start" {
		t.Fatalf("publish status %v", v)
	}
	meta, _ := AppendAMF0(nil, "@setDataFrame", "onMetaData", ECMAArray{{"width", 320.0}})
	video := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCNALU, Data: make([]byte, 5000)})
	for _, m := range []message{
		{typeID: msgDataAMF0, streamID: sid, payload: meta},
		{typeID: msgVideo, streamID: sid, timestamp: 0, payload: video},
		{typeID: msgAudio, streamID: sid, timestamp: 0x1000023, payload: []byte{0xaf, 1, 0x21}},
	} {
		if err := c.send(csidVideo, m); err != nil {
			t.Fatal(err)
		}
	}
	c.command(0, "FCUnpublish", 6.0, nil, "stream")
	c.command(0, "deleteStream", 7.0, nil, float64(sid))
	// A ping round trip proves everything before it was handled.
	c.send(csidControl, userControlMsg(eventPingRequest, 42))
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m.typeID == msgUserControl && binary.BigEndian.Uint16(m.payload) == eventPingResponse {
			if binary.BigEndian.Uint32(m.payload[2:]) != 42 {
				t.Fatalf("ping response % x", m.payload)
			}
			break
		}
	}

	tags, publishes, closed := rec.snapshot()
	if len(publishes) != 1 || publishes[0] != "live/stream?sign=abc&x=1" {
		t.Fatalf("publishes %v: want the app without query and the merged query, name winning", publishes)
	}
	if len(tags) != 3 || closed != 1 {
		t.Fatalf("%d tags, %d closes; want 3 and 1", len(tags), closed)
	}
	if vals, err := DecodeAMF0(tags[0].Data); err != nil || tags[0].Type != flv.TagScript || vals[0] != "onMetaData" {
		t.Fatalf("metadata tag %v %v: @setDataFrame must be stripped", vals, err)
	}
	if tags[1].Type != flv.TagVideo || !bytes.Equal(tags[1].Data, video) || tags[2].Timestamp != 0x1000023 {
		t.Fatalf("media tags differ: %+v", tags[2])
	}
}

func TestRefusedPublishGetsTheHandlersStatus(t *testing.T) {
	rec := &recorder{refuse: &StatusError{Code: "NetStream.Publish.Unauthorized", Description: "70346 userSig check failed: expired"}}
	_, addr := startServer(t, rec, Limits{})
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "publish", 5.0, nil, "stream", "live")
	v := c.readCommand("onStatus")
	obj := v[3].(Object)
	level, _ := obj.Get("level")
	desc, _ := obj.Get("description")
	if statusCode(v) != "NetStream.Publish.Unauthorized" || level != "error" || desc != "70346 userSig check failed: expired" {
		t.Fatalf("status %v", v)
	}
	if err := c.waitClosed(); err == nil {
		t.Fatal("connection stayed open after a refusal")
	}
}

func TestPlayerGetsStartStatusesThenTags(t *testing.T) {
	rec := &recorder{playTags: []flv.Tag{
		{Type: flv.TagScript, Data: []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5}},
		{Type: flv.TagVideo, Timestamp: 0, Data: make([]byte, 10000)},
		{Type: flv.TagAudio, Timestamp: 20, Data: []byte{0xaf, 1, 1}},
	}}
	_, addr := startServer(t, rec, Limits{})
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "play", 3.0, nil, "stream", -2000.0)
	var codes []string
	var media []message
	for len(media) < 3 {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		switch m.typeID {
		case msgCommandAMF0:
			vals, _ := DecodeAMF0(m.payload)
			codes = append(codes, statusCode(vals))
		case msgDataAMF0:
			vals, _ := DecodeAMF0(m.payload)
			if vals[0] == "onMetaData" {
				media = append(media, m)
			}
		case msgAudio, msgVideo:
			if m.streamID != sid {
				t.Fatalf("media on stream %d, want %d", m.streamID, sid)
			}
			media = append(media, m)
		}
	}
	if len(codes) != 2 || codes[0] != "NetStream.Play.Reset" || codes[1] != "NetStream.Play.Start" {
		t.Fatalf("statuses before media %v", codes)
	}
	if v := c.readCommand("onStatus"); statusCode(v) != "NetStream.Play.Stop" {
		t.Fatalf("after the last tag: %v", v)
	}
}

func TestRefusedPlayGetsStreamNotFound(t *testing.T) {
	rec := &recorder{refuse: errors.New("no such room")}
	_, addr := startServer(t, rec, Limits{})
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "play", 3.0, nil, "nobody")
	if v := c.readCommand("onStatus"); statusCode(v) != "NetStream.Play.StreamNotFound" {
		t.Fatalf("status %v", v)
	}
	if err := c.waitClosed(); err == nil {
		t.Fatal("connection stayed open")
	}
}

func TestServerSendsAcknowledgements(t *testing.T) {
	_, addr := startServer(t, &recorder{}, Limits{})
	c := dialClient(t, addr)
	c.connect("live", "rtmp://127.0.0.1/live")
	c.send(csidControl, uint32Msg(msgWindowAckSize, 5000))
	c.send(csidData, message{typeID: msgDataAMF0, payload: make([]byte, 6000)}) // ignored, but counted
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m.typeID == msgAck {
			if n, _ := be32(m); n < 5000 {
				t.Fatalf("ack of %d bytes", n)
			}
			return
		}
	}
}

// playWithoutReading plays n pictures of size bytes (all at timestamp 0:
// no pacing) from a server with limits to a player that never reads, and
// checks that the play ends with ErrSlowConsumer within wait.
func playWithoutReading(t *testing.T, n, size int, limits Limits, wait time.Duration) {
	t.Helper()
	result := make(chan error, 1)
	tags := make([]flv.Tag, n)
	for i := range tags {
		tags[i] = flv.Tag{Type: flv.TagVideo, Data: make([]byte, size)}
	}
	rec := &recorder{playTags: tags, playResult: result}
	_, addr := startServer(t, rec, limits)
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "play", 3.0, nil, "stream")
	// ...and never read again.
	select {
	case err := <-result:
		if !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("Play ended with %v, want ErrSlowConsumer", err)
		}
	case <-time.After(wait):
		t.Fatal("a player that does not read was not dropped")
	}
}

func TestSlowPlayerIsDisconnected(t *testing.T) {
	playWithoutReading(t, 2000, 64<<10, Limits{WriteQueue: 8}, 20*time.Second)
}

// A player that stops reading is dropped once what waits for it passes
// WriteQueueBytes, long before WriteQueue messages of large pictures (each
// one a copy) are queued or its writes time out: 100 MiB, within the 512
// messages of the queue.
func TestSlowPlayerIsDroppedAtTheQueuesBytes(t *testing.T) {
	playWithoutReading(t, 100, 1<<20, Limits{WriteQueueBytes: 8 << 20, WriteTimeout: time.Minute}, 10*time.Second)
}

// Each bad client is dropped and the next one is still served.
func TestBadClientsAreDroppedAndServerKeepsServing(t *testing.T) {
	rec := &recorder{}
	_, addr := startServer(t, rec, Limits{ReadTimeout: 500 * time.Millisecond})
	connected := func(t *testing.T) *testClient {
		c := dialClient(t, addr)
		c.connect("live", "rtmp://127.0.0.1/live")
		return c
	}
	bad := map[string]func(t *testing.T) net.Conn{
		"truncated handshake": func(t *testing.T) net.Conn {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			nc.Write(append([]byte{3}, make([]byte, 700)...))
			return nc
		},
		"chunk size 0": func(t *testing.T) net.Conn {
			c := connected(t)
			c.send(csidControl, uint32Msg(msgSetChunkSize, 0))
			return c.nc
		},
		"chunk size 2^31": func(t *testing.T) net.Conn {
			c := connected(t)
			c.send(csidControl, uint32Msg(msgSetChunkSize, 1<<31))
			return c.nc
		},
		"16 MB message": func(t *testing.T) net.Conn {
			c := connected(t)
			c.nc.Write([]byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0})
			return c.nc
		},
		"random bytes after connect": func(t *testing.T) net.Conn {
			c := connected(t)
			junk := make([]byte, 64<<10)
			rand.Read(junk)
			c.nc.Write(junk)
			return c.nc
		},
		"command before connect": func(t *testing.T) net.Conn {
			c := dialClient(t, addr)
			c.command(0, "publish", 1.0, nil, "x")
			return c.nc
		},
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			nc := f(t)
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := nc.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatal("server did not close the connection")
					}
					break
				}
			}
			// The server still serves a well-behaved client.
			c := connected(t)
			c.command(0, "createStream", 9.0, nil)
			c.readCommand("_result")
		})
	}
}

func TestMaxConnsRefusesExtraConnections(t *testing.T) {
	_, addr := startServer(t, &recorder{}, Limits{MaxConns: 1})
	c := dialClient(t, addr)
	c.connect("live", "rtmp://127.0.0.1/live")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("second connection was served")
	}
}

// playingHandler says when its Play has begun.
type playingHandler struct {
	*recorder
	once    sync.Once
	playing chan struct{}
}

func (h *playingHandler) Play(ctx context.Context, c *ConnInfo, app, name string, q url.Values, w TagWriter) error {
	h.once.Do(func() { close(h.playing) })
	return h.recorder.Play(ctx, c, app, name, q, w)
}

// readStreamBegin reads until the user control Stream Begin of stream sid
// (play sends it just before it starts the Handler's Play).
func readStreamBegin(t *testing.T, c *testClient, sid uint32) {
	t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			t.Fatalf("waiting for Stream Begin: %v", err)
		}
		if m.typeID == msgUserControl && len(m.payload) >= 6 &&
			binary.BigEndian.Uint16(m.payload) == eventStreamBegin && binary.BigEndian.Uint32(m.payload[2:]) == sid {
			return
		}
	}
}

func TestCloseEndsPlayingConnections(t *testing.T) {
	// Play waits for ctx: a player of a stream not yet published.
	h := &playingHandler{recorder: &recorder{}, playing: make(chan struct{})}
	s, addr := startServer(t, h, Limits{})
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "play", 3.0, nil, "stream")
	// Close only once the connection plays (not after a guessed delay,
	// which a loaded machine outlasts): the client has Stream Begin and
	// the Handler's Play runs.
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	readStreamBegin(t, c, sid)
	select {
	case <-h.playing:
	case <-time.After(5 * time.Second):
		t.Fatal("Play did not begin")
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := c.waitClosed(); err == nil {
		t.Fatal("connection open after Close")
	}
}

// Fan-out to many players must not allocate per tag: the queue holds
// message values and the writer reuses its header buffer.
func TestQueueingATagDoesNotAllocate(t *testing.T) {
	s := &Server{}
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	c := newConn(s, nc, Limits{WriteQueue: 1000}.withDefaults(), slogDiscard())
	defer c.shutdown()
	w := &playWriter{c: c, ctx: c.ctx, streamID: 1, name: "x", started: true}
	tag := flv.Tag{Type: flv.TagVideo, Timestamp: 40, Data: make([]byte, 1000)}
	if n := testing.AllocsPerRun(100, func() {
		if err := w.WriteTag(tag); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per tag", n)
	}
}

// Flash Player with objectEncoding 3 sends commands as type 17 (a 0 byte,
// then AMF0) and metadata as type 15.
func TestAMF3WrappedCommandsAndData(t *testing.T) {
	rec := &recorder{}
	_, addr := startServer(t, rec, Limits{})
	c := dialClient(t, addr)
	connect, _ := AppendAMF0(nil, "connect", 1.0, Object{{"app", "live"}, {"objectEncoding", 3.0}})
	c.send(csidCommand, message{typeID: msgCommandAMF3, payload: append([]byte{0}, connect...)})
	v := c.readCommand("_result")
	if enc, _ := v[3].(Object).Get("objectEncoding"); enc != 3.0 {
		t.Fatalf("objectEncoding %v, want the client's 3 echoed", enc)
	}
	createStream, _ := AppendAMF0(nil, "createStream", 2.0, nil)
	c.send(csidCommand, message{typeID: msgCommandAMF3, payload: append([]byte{0}, createStream...)})
	sid := uint32(c.readCommand("_result")[3].(float64))
	c.command(sid, "publish", 3.0, nil, "s")
	c.readCommand("onStatus")
	meta, _ := AppendAMF0(nil, "onMetaData", ECMAArray{{"duration", 0.0}})
	c.send(csidData, message{typeID: msgDataAMF3, streamID: sid, payload: append([]byte{0}, meta...)})
	c.command(0, "deleteStream", 4.0, nil, float64(sid))
	c.send(csidControl, userControlMsg(eventPingRequest, 1))
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m.typeID == msgUserControl {
			break
		}
	}
	tags, _, _ := rec.snapshot()
	if len(tags) != 1 || tags[0].Type != flv.TagScript || !bytes.Equal(tags[0].Data, meta) {
		t.Fatalf("tags %+v", tags)
	}
}
