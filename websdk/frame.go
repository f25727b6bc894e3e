package websdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Request is a frame from the SDK: a command name, its data, and a sequence
// number the reply must echo. The SDK also sends its userId and, once it
// has one, its tinyId; trtcd knows both from the connection and ignores
// them.
type Request struct {
	Cmd    string          `json:"cmd"`
	Data   json.RawMessage `json:"data"`
	UserID string          `json:"userId"`
	TinyID json.Number     `json:"tinyId"`
	Seq    int64           `json:"seq"`
}

// Reply is a frame to the SDK: a numeric cmd, a TRTC code (0: success), a
// message, the request's seq, and data. Data is never null: the SDK reads
// fields of it even on failure, and a join reply without data leaves join()
// pending forever.
type Reply struct {
	Cmd     int    `json:"cmd"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Seq     int64  `json:"seq"`
	TinyID  uint64 `json:"tinyId,omitempty"`
	Data    any    `json:"data"`
}

// MaxFrameBytes bounds a client frame. The largest real ones are offers
// (4–8 KB for the four-section uplink) and quality reports (1–2 KB).
const MaxFrameBytes = 64 << 10

// Errors of DecodeRequest.
var (
	ErrFrameTooLarge = errors.New("websdk: frame too large")
	ErrNotRequest    = errors.New("websdk: not a request frame")
)

// DecodeRequest parses a client frame. A frame without a command name, or
// whose data is not an object, is refused; a missing data becomes {}.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) > MaxFrameBytes {
		return nil, ErrFrameTooLarge
	}
	var r Request
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRequest, err)
	}
	if r.Cmd == "" {
		return nil, fmt.Errorf("%w: no cmd", ErrNotRequest)
	}
	data := bytes.TrimSpace(r.Data)
	switch {
	case len(data) == 0 || bytes.Equal(data, []byte("null")):
		r.Data = json.RawMessage("{}")
	case data[0] != '{':
		return nil, fmt.Errorf("%w: %s data is not an object", ErrNotRequest, r.Cmd)
	}
	return &r, nil
}

// decodeData parses a request's data into v.
func (r *Request) decodeData(v any) error {
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("%s data: %v", r.Cmd, err)
	}
	return nil
}

// empty is the data of replies that carry none.
var empty = struct{}{}
