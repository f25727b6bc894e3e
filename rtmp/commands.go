package rtmp

import (
	"fmt"
	"net/url"
	"strings"
)

// command is a decoded command message: name, transaction id, command
// object and the optional arguments after it.
type command struct {
	name     string
	txn      float64
	obj      Object // nil when the command object is null
	args     []any
	streamID uint32
}

func (cmd command) stringArg(i int) string {
	if i < len(cmd.args) {
		s, _ := cmd.args[i].(string)
		return s
	}
	return ""
}

func (c *conn) handleCommand(m message) error {
	p := m.payload
	if m.typeID == msgCommandAMF3 && len(p) > 0 && p[0] == 0 {
		// AMF3 command messages start with a format byte 0 and carry AMF0
		// values (Flash Player with objectEncoding 3).
		p = p[1:]
	}
	vals, err := DecodeAMF0(p)
	if err != nil {
		return fmt.Errorf("command: %w", err)
	}
	if len(vals) < 2 {
		return fmt.Errorf("%w: %d values", ErrCommand, len(vals))
	}
	cmd := command{streamID: m.streamID}
	var ok bool
	if cmd.name, ok = vals[0].(string); !ok {
		return fmt.Errorf("%w: name is %T", ErrCommand, vals[0])
	}
	cmd.txn, _ = vals[1].(float64)
	if len(vals) > 2 {
		cmd.obj, _ = vals[2].(Object)
		cmd.args = vals[3:]
	}
	c.log.Debug("rtmp: command", "name", cmd.name, "txn", cmd.txn, "stream", cmd.streamID)

	if !c.connected && cmd.name != "connect" {
		return fmt.Errorf("%w: %q before connect", ErrCommand, cmd.name)
	}
	switch cmd.name {
	case "connect":
		return c.onConnect(cmd)
	case "createStream":
		return c.onCreateStream(cmd)
	case "releaseStream", "FCPublish", "FCUnpublish", "getStreamLength", "_checkbw":
		return c.onSimpleCall(cmd)
	case "publish":
		return c.onPublish(cmd)
	case "play":
		return c.onPlay(cmd)
	case "deleteStream":
		if len(cmd.args) > 0 {
			if id, ok := cmd.args[0].(float64); ok && id >= 0 && id < 1<<32 {
				c.deleteStream(uint32(id))
			}
		}
	case "closeStream":
		c.deleteStream(cmd.streamID)
	default:
		// Unknown calls (FCSubscribe, setDataFrame variants, custom RPCs)
		// are ignored: answering _error makes some clients give up.
		c.log.Debug("rtmp: ignoring command", "name", cmd.name)
	}
	return nil
}

func (c *conn) onConnect(cmd command) error {
	if c.connected {
		return fmt.Errorf("%w: second connect", ErrCommand)
	}
	if cmd.obj == nil {
		return fmt.Errorf("%w: connect without command object", ErrCommand)
	}
	str := func(k string) string { v, _ := cmd.obj.Get(k); s, _ := v.(string); return s }
	c.info = ConnInfo{RemoteAddr: c.nc.RemoteAddr(), TCURL: str("tcUrl"), FlashVer: str("flashVer")}
	c.app, c.appQuery = splitQuery(str("app"))
	if u, err := url.Parse(c.info.TCURL); err == nil {
		for k, v := range u.Query() {
			if _, ok := c.appQuery[k]; !ok {
				c.appQuery[k] = v
			}
		}
	}
	c.info.App = c.app
	c.connected = true
	tcURL, _, _ := strings.Cut(c.info.TCURL, "?") // the query may carry a userSig: never logged
	c.log.Debug("rtmp: connect", "app", c.app, "tcUrl", tcURL, "flashVer", c.info.FlashVer)

	const window = 2500000 // what FMS sends; bytes between acks
	encoding, _ := cmd.obj.Get("objectEncoding")
	if _, ok := encoding.(float64); !ok {
		encoding = 0.0
	}
	for _, m := range []message{
		uint32Msg(msgWindowAckSize, window),
		setPeerBandwidthMsg(window),
		uint32Msg(msgSetChunkSize, outChunkSize),
	} {
		if err := c.send(csidControl, m); err != nil {
			return err
		}
	}
	return c.sendCommand(0, "_result", cmd.txn,
		Object{{"fmsVer", "FMS/3,5,7,7009"}, {"capabilities", 31.0}, {"mode", 1.0}},
		Object{{"level", "status"}, {"code", "NetConnection.Connect.Success"},
			{"description", "Connection succeeded."}, {"objectEncoding", encoding}})
}

func (c *conn) onCreateStream(cmd command) error {
	if len(c.streams) >= c.limits.MaxStreams {
		return fmt.Errorf("%w: more than %d streams", ErrCommand, c.limits.MaxStreams)
	}
	c.nextSID++
	c.streams[c.nextSID] = &netStream{id: c.nextSID}
	return c.sendCommand(0, "_result", cmd.txn, nil, float64(c.nextSID))
}

// onSimpleCall answers the calls publishers make around publish; ffmpeg and
// OBS do not wait for the answers but log failures.
func (c *conn) onSimpleCall(cmd command) error {
	switch cmd.name {
	case "FCPublish", "FCUnpublish":
		code := "NetStream.Publish.Start"
		if cmd.name == "FCUnpublish" {
			code = "NetStream.Unpublish.Success"
		}
		if err := c.sendCommand(0, "on"+cmd.name, 0, nil,
			Object{{"code", code}, {"description", cmd.stringArg(0)}}); err != nil {
			return err
		}
	case "getStreamLength":
		return c.sendCommand(0, "_result", cmd.txn, nil, 0.0) // live: no length
	}
	if cmd.txn == 0 {
		return nil
	}
	return c.sendCommand(0, "_result", cmd.txn, nil, Undefined{})
}

// sendCommand queues an AMF0 command on the given message stream.
func (c *conn) sendCommand(streamID uint32, vals ...any) error {
	b, err := AppendAMF0(nil, vals...)
	if err != nil {
		return err
	}
	return c.send(csidCommand, message{typeID: msgCommandAMF0, streamID: streamID, payload: b})
}

// statusMsg builds onStatus(0, null, {level, code, description}).
func statusMsg(streamID uint32, level, code, description string) message {
	b, _ := AppendAMF0(nil, "onStatus", 0.0, nil,
		Object{{"level", level}, {"code", code}, {"description", description}})
	return message{typeID: msgCommandAMF0, streamID: streamID, payload: b}
}

// splitQuery splits "name?a=1&b=2"; a malformed query yields what parsed.
func splitQuery(s string) (string, url.Values) {
	name, q, _ := strings.Cut(s, "?")
	vals, _ := url.ParseQuery(q)
	if vals == nil {
		vals = url.Values{}
	}
	return name, vals
}

// streamQuery merges the connect query with the stream name's; the stream
// name wins, since it is what the user typed last.
func (c *conn) streamQuery(nameQuery url.Values) url.Values {
	q := url.Values{}
	for k, v := range c.appQuery {
		q[k] = v
	}
	for k, v := range nameQuery {
		q[k] = v
	}
	return q
}
