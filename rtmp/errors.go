package rtmp

import (
	"errors"
	"fmt"
)

// Sentinel errors. Everything a peer can do wrong ends its connection with
// one of these (wrapped with detail), never with a panic.
var (
	// ErrHandshake means C0/C1/C2 were malformed, truncated or too slow.
	ErrHandshake = errors.New("rtmp: handshake failed")
	// ErrChunk means the chunk stream broke a protocol rule (unknown
	// previous header, bad chunk size, inconsistent message length).
	ErrChunk = errors.New("rtmp: bad chunk stream")
	// ErrMessageTooLarge means a message announced more bytes than
	// Limits.MaxMessageSize; it is refused before any buffer is allocated.
	ErrMessageTooLarge = errors.New("rtmp: message too large")
	// ErrTooManyChunkStreams means the peer opened more chunk stream ids
	// than Limits.MaxChunkStreams.
	ErrTooManyChunkStreams = errors.New("rtmp: too many chunk streams")
	// ErrAMF means an AMF0 value could not be decoded or encoded.
	ErrAMF = errors.New("rtmp: bad AMF0 data")
	// ErrCommand means a command message is missing required fields.
	ErrCommand = errors.New("rtmp: bad command")
	// ErrSlowConsumer means a player's outgoing queue was full; the player
	// is disconnected rather than allowed to stall the publisher.
	ErrSlowConsumer = errors.New("rtmp: outgoing queue full")
	// ErrClosed is returned by TagWriter.WriteTag after the connection or
	// the play ended, and by Serve after Close.
	ErrClosed = errors.New("rtmp: closed")
)

// StatusError refuses a publish or play with a specific onStatus. The glue
// puts the TRTC error code in Description, e.g.
// &StatusError{Code: "NetStream.Publish.Unauthorized", Description: "70346 userSig check failed: expired"}.
type StatusError struct {
	Level       string // "error" when empty
	Code        string // e.g. "NetStream.Publish.BadName"
	Description string // human sentence sent to the client
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("rtmp: %s: %s", e.Code, e.Description)
}

// statusFor turns a handler error into the status sent to the client:
// a *StatusError as given, any other error as the default code with the
// error text as description.
func statusFor(err error, defaultCode string) StatusError {
	var se *StatusError
	if errors.As(err, &se) {
		s := *se
		if s.Level == "" {
			s.Level = "error"
		}
		if s.Code == "" {
			s.Code = defaultCode
		}
		return s
	}
	return StatusError{Level: "error", Code: defaultCode, Description: err.Error()}
}
