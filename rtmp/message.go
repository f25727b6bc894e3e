package rtmp

import "encoding/binary"

// Message type ids (RTMP spec 5.4, 6.2, 7.1).
const (
	msgSetChunkSize     uint8 = 1
	msgAbort            uint8 = 2
	msgAck              uint8 = 3
	msgUserControl      uint8 = 4
	msgWindowAckSize    uint8 = 5
	msgSetPeerBandwidth uint8 = 6
	msgAudio            uint8 = 8
	msgVideo            uint8 = 9
	msgDataAMF3         uint8 = 15
	msgCommandAMF3      uint8 = 17
	msgDataAMF0         uint8 = 18
	msgCommandAMF0      uint8 = 20
)

// User control event types.
const (
	eventStreamBegin     uint16 = 0
	eventStreamEOF       uint16 = 1
	eventSetBufferLength uint16 = 3
	eventPingRequest     uint16 = 6
	eventPingResponse    uint16 = 7
)

// Chunk stream ids we send on. 2 is reserved for protocol control; the rest
// follow what FMS and nginx-rtmp use, which players do not care about but
// packet dumps are easier to read with.
const (
	csidControl uint32 = 2
	csidCommand uint32 = 3
	csidAudio   uint32 = 4
	csidData    uint32 = 5
	csidVideo   uint32 = 6
)

// message is one reassembled RTMP message.
type message struct {
	typeID    uint8
	streamID  uint32 // message stream id
	timestamp uint32
	payload   []byte
}

func controlMsg(typeID uint8, payload []byte) message {
	return message{typeID: typeID, payload: payload}
}

func uint32Msg(typeID uint8, v uint32) message {
	return controlMsg(typeID, binary.BigEndian.AppendUint32(nil, v))
}

func setPeerBandwidthMsg(window uint32) message {
	// Limit type 2 (dynamic): the peer may treat it as hard or ignore it.
	return controlMsg(msgSetPeerBandwidth, append(binary.BigEndian.AppendUint32(nil, window), 2))
}

func userControlMsg(event uint16, v uint32) message {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 6), event)
	return controlMsg(msgUserControl, binary.BigEndian.AppendUint32(b, v))
}
