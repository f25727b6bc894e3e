package rtmp

import (
	"encoding/binary"
	"fmt"
)

// handleMessage dispatches one message from the read loop.
func (c *conn) handleMessage(m message) error {
	switch m.typeID {
	case msgSetChunkSize:
		v, err := be32(m)
		if err != nil {
			return err
		}
		return c.cr.setChunkSize(v)
	case msgAbort:
		v, err := be32(m)
		if err != nil {
			return err
		}
		c.cr.abort(v)
	case msgAck, msgSetPeerBandwidth:
		// We do not throttle our output to the peer's window: players read
		// as fast as we send, and a slow one is dropped by the queue limit.
	case msgWindowAckSize:
		v, err := be32(m)
		if err != nil {
			return err
		}
		c.ackWindow = v
	case msgUserControl:
		return c.handleUserControl(m)
	case msgAudio, msgVideo:
		return c.handleMedia(m)
	case msgDataAMF0, msgDataAMF3:
		return c.handleData(m)
	case msgCommandAMF0, msgCommandAMF3:
		return c.handleCommand(m)
	default:
		c.log.Debug("rtmp: ignoring message", "type", m.typeID, "len", len(m.payload))
	}
	return nil
}

func be32(m message) (uint32, error) {
	if len(m.payload) < 4 {
		return 0, fmt.Errorf("%w: message type %d with %d bytes", ErrChunk, m.typeID, len(m.payload))
	}
	return binary.BigEndian.Uint32(m.payload), nil
}

func (c *conn) handleUserControl(m message) error {
	if len(m.payload) < 2 {
		return fmt.Errorf("%w: user control of %d bytes", ErrChunk, len(m.payload))
	}
	event := binary.BigEndian.Uint16(m.payload)
	data := m.payload[2:]
	switch event {
	case eventPingRequest:
		if len(data) < 4 {
			return fmt.Errorf("%w: short ping", ErrChunk)
		}
		return c.send(csidControl, userControlMsg(eventPingResponse, binary.BigEndian.Uint32(data)))
	case eventPingResponse:
		// The answer to the pings that a player gets: reading it renewed the
		// read deadline, which is all it is for.
	case eventSetBufferLength:
		// Players announce their buffer; we send live data as it comes, so
		// it only matters for logs.
		if len(data) >= 8 {
			c.log.Debug("rtmp: set buffer length", "stream", binary.BigEndian.Uint32(data), "ms", binary.BigEndian.Uint32(data[4:]))
		}
	}
	return nil
}
