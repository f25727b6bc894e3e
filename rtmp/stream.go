package rtmp

import (
	"context"
	"fmt"

	"github.com/trtcd/trtcd/rtmp/flv"
)

// netStream is one createStream'd message stream: idle, publishing or
// playing. Only the read loop touches it, except play.done.
type netStream struct {
	id        uint32
	publisher Publisher
	name      string
	play      *playSession
}

type playSession struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Handler.Play returned
}

func (st *netStream) isPlaying() bool {
	if st.play == nil {
		return false
	}
	select {
	case <-st.play.done:
		return false
	default:
		return true
	}
}

// stop ends a publish or play on this stream.
func (st *netStream) stop() {
	if st.publisher != nil {
		st.publisher.Close()
		st.publisher = nil
	}
	if st.play != nil {
		st.play.cancel()
	}
}

func (c *conn) deleteStream(id uint32) {
	if st := c.streams[id]; st != nil {
		st.stop()
		delete(c.streams, id)
	}
}

// streamFor returns the stream a publish/play arrived on, creating it when
// the client skipped createStream (a few encoders publish on stream 1
// directly).
func (c *conn) streamFor(id uint32) (*netStream, error) {
	if st := c.streams[id]; st != nil {
		if st.publisher != nil || st.play != nil {
			return nil, fmt.Errorf("%w: stream %d already in use", ErrCommand, id)
		}
		return st, nil
	}
	if id == 0 || len(c.streams) >= c.limits.MaxStreams {
		return nil, fmt.Errorf("%w: publish/play on stream %d", ErrCommand, id)
	}
	st := &netStream{id: id}
	c.streams[id] = st
	return st, nil
}

// refuse sends the status for a refused publish/play and hangs up after it.
func (c *conn) refuse(streamID uint32, err error, defaultCode string) {
	s := statusFor(err, defaultCode)
	c.log.Info("rtmp: refused", "code", s.Code, "description", s.Description)
	c.sendAndClose(csidCommand, statusMsg(streamID, s.Level, s.Code, s.Description))
}

func (c *conn) onPublish(cmd command) error {
	st, err := c.streamFor(cmd.streamID)
	if err != nil {
		return err
	}
	name, q := splitQuery(cmd.stringArg(0))
	if name == "" {
		c.refuse(cmd.streamID, &StatusError{Code: "NetStream.Publish.BadName", Description: "empty stream name"}, "")
		c.hangingUp = true
		return nil
	}
	pub, err := c.srv.Handler.Publish(c.ctx, &c.info, c.app, name, c.streamQuery(q))
	if err != nil {
		c.refuse(cmd.streamID, err, "NetStream.Publish.BadName")
		c.hangingUp = true
		return nil
	}
	st.publisher, st.name = pub, name
	c.loggedIn = true
	c.cr.setMaxMessage(c.limits.MaxMessageSize) // pictures from now on
	c.log.Info("rtmp: publishing", "app", c.app, "name", name)
	if err := c.send(csidControl, userControlMsg(eventStreamBegin, st.id)); err != nil {
		return err
	}
	return c.send(csidCommand, statusMsg(st.id, "status", "NetStream.Publish.Start", name+" is now published."))
}

func (c *conn) handleMedia(m message) error {
	st := c.streams[m.streamID]
	if st == nil || st.publisher == nil {
		return nil // e.g. audio after FCUnpublish; harmless
	}
	if err := st.publisher.WriteTag(flv.Tag{Type: m.typeID, Timestamp: m.timestamp, Data: m.payload}); err != nil {
		return fmt.Errorf("publish %s: %w", st.name, err)
	}
	return nil
}

// setDataFrame is AMF0 string "@setDataFrame": publishers wrap onMetaData in
// it to ask the server to store it; players must see plain onMetaData.
var setDataFrame = []byte{amfString, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e'}

func (c *conn) handleData(m message) error {
	p := m.payload
	if m.typeID == msgDataAMF3 && len(p) > 0 && p[0] == 0 {
		p = p[1:]
	}
	if len(p) >= len(setDataFrame) && string(p[:len(setDataFrame)]) == string(setDataFrame) {
		p = p[len(setDataFrame):]
	}
	st := c.streams[m.streamID]
	if st == nil || st.publisher == nil {
		return nil
	}
	if err := st.publisher.WriteTag(flv.Tag{Type: flv.TagScript, Timestamp: m.timestamp, Data: p}); err != nil {
		return fmt.Errorf("publish %s: %w", st.name, err)
	}
	return nil
}
