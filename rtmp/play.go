package rtmp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtmp/flv"
)

func (c *conn) onPlay(cmd command) error {
	st, err := c.streamFor(cmd.streamID)
	if err != nil {
		return err
	}
	name, q := splitQuery(cmd.stringArg(0))
	if name == "" {
		c.refuse(cmd.streamID, &StatusError{Code: "NetStream.Play.StreamNotFound", Description: "empty stream name"}, "")
		c.hangingUp = true
		return nil
	}
	ctx, cancel := context.WithCancel(c.ctx)
	session := &playSession{cancel: cancel, done: make(chan struct{})}
	st.play = session
	st.name = name
	if err := c.send(csidControl, userControlMsg(eventStreamBegin, st.id)); err != nil {
		cancel()
		return err
	}
	w := &playWriter{c: c, ctx: ctx, streamID: st.id, name: name}
	query := c.streamQuery(q)
	info := c.info // a copy: the handler may keep it
	// The Handler authenticates in Play and refuses there.
	c.loggedIn = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(session.done)
		defer cancel()
		defer c.shutdownOnPanic()
		err := c.srv.Handler.Play(ctx, &info, c.app, name, query, w)
		w.end(err)
	}()
	return nil
}

// shutdownOnPanic, deferred in a goroutine of the connection, recovers a
// panic (a Handler bug) and ends this connection only.
func (c *conn) shutdownOnPanic() {
	if v := recover(); v != nil {
		panics.Report(panics.RTMP, v, c.log)
		c.shutdown()
	}
}

// playWriter is the TagWriter handed to Handler.Play.
type playWriter struct {
	c        *conn
	ctx      context.Context
	streamID uint32
	name     string

	mu      sync.Mutex // only guards the one-time start
	started bool
}

func (w *playWriter) WriteTag(t flv.Tag) error {
	if w.ctx.Err() != nil {
		return ErrClosed
	}
	var csid uint32
	switch t.Type {
	case flv.TagAudio:
		csid = csidAudio
	case flv.TagVideo:
		csid = csidVideo
	case flv.TagScript:
		csid = csidData
	default:
		return fmt.Errorf("rtmp: cannot send tag type %d", t.Type)
	}
	if len(t.Data) > maxMessageLength {
		return fmt.Errorf("%w: tag of %d bytes", ErrMessageTooLarge, len(t.Data))
	}
	if err := w.start(); err != nil {
		return err
	}
	return w.c.trySend(csid, message{typeID: t.Type, streamID: w.streamID, timestamp: t.Timestamp, payload: t.Data})
}

// start sends the statuses players wait for before the first tag. ffmpeg
// only leaves its connect phase on NetStream.Play.Start; Flash needs
// |RtmpSampleAccess to let scripts read the stream. No NetStream.Data.Start
// data message: ffmpeg's FLV demuxer would show it as an extra data stream.
func (w *playWriter) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return nil
	}
	w.started = true
	sid := w.streamID
	sampleAccess, _ := AppendAMF0(nil, "|RtmpSampleAccess", true, true)
	for _, om := range []outMsg{
		{csidCommand, statusMsg(sid, "status", "NetStream.Play.Reset", "Playing and resetting "+w.name+"."), false},
		{csidCommand, statusMsg(sid, "status", "NetStream.Play.Start", "Started playing "+w.name+"."), false},
		{csidData, message{typeID: msgDataAMF0, streamID: sid, payload: sampleAccess}, false},
	} {
		if err := w.c.send(om.csid, om.m); err != nil {
			return err
		}
	}
	w.c.log.Info("rtmp: playing", "app", w.c.app, "name", w.name)
	return nil
}

// end reports how Handler.Play finished: a refusal before any tag, a clean
// end of stream (Play.Stop, so ffmpeg exits 0), or a failure (hang up).
func (w *playWriter) end(err error) {
	if w.ctx.Err() != nil {
		return // the client left or deleted the stream; nobody to tell
	}
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	switch {
	case err != nil && !started:
		w.c.refuse(w.streamID, err, "NetStream.Play.StreamNotFound")
	case err != nil:
		if !errors.Is(err, ErrSlowConsumer) && !errors.Is(err, ErrClosed) {
			w.c.log.Info("rtmp: play ended", "name", w.name, "err", err)
		}
		w.c.shutdown()
	default:
		_ = w.c.send(csidControl, userControlMsg(eventStreamEOF, w.streamID))
		_ = w.c.send(csidCommand, statusMsg(w.streamID, "status", "NetStream.Play.Stop", "Stopped playing "+w.name+"."))
	}
}
