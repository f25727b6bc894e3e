package ws

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/trtcd/trtcd/trtc"
)

// The WebSocket protocol's frames (docs/protocol.md). A client sends
// requests; every request gets exactly one reply with the same id; the
// server also pushes events.

// Request is a client's frame.
type Request struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Reply answers a request: code 0 is success, anything else a TRTC code
// from the catalogue with a human message.
type Reply struct {
	ID      int64     `json:"id"`
	Type    string    `json:"type"` // always "reply"
	Code    trtc.Code `json:"code"`
	Message string    `json:"message"`
	Data    any       `json:"data,omitempty"`
}

// EventFrame is an event pushed to a client.
type EventFrame struct {
	Type  string `json:"type"` // always "event"
	Event string `json:"event"`
	Data  any    `json:"data,omitempty"`
}

// JoinData is the join request, with the fields TRTC clients send.
type JoinData struct {
	SDKAppID         uint32     `json:"sdkAppId"`
	UserID           string     `json:"userId"`
	UserSig          string     `json:"userSig"`
	RoomID           uint32     `json:"roomId"`
	StrRoomID        string     `json:"strRoomId"`
	PrivateMapKey    string     `json:"privateMapKey"`
	Role             string     `json:"role"`
	Template         string     `json:"template"`
	RecordID         flexString `json:"recordId"`
	PureAudioPushMod int        `json:"pureAudioPushMod"`
	MinBitrate       int        `json:"minBitrate"`
	MaxBitrate       int        `json:"maxBitrate"`
}

// JoinResult is the join reply's data.
type JoinResult struct {
	RoomUUID string            `json:"roomUUID"`
	Template string            `json:"template"`
	Capacity int               `json:"capacity"`
	Members  []trtc.MemberInfo `json:"members"` // the others (SUCC_MEMBERS_LIST)
	// MinBitrate and MaxBitrate are the range the server holds the
	// publisher to, after clamping.
	MinBitrate int `json:"minBitrate"`
	MaxBitrate int `json:"maxBitrate"`
}

// SDPData carries an offer (publish, subscribe) or an answer (their reply).
type SDPData struct {
	SDP    string `json:"sdp"`
	UserID string `json:"userId,omitempty"` // subscribe: whose streams
}

// PublishData is a publish request.
type PublishData struct {
	SDP string `json:"sdp"`
	// Video names the stream each of the offer's video sections sends, in
	// order: "main" (the default), "small", "sub". ["sub"] alone is a
	// screen share: a publish of its own, beside the camera's.
	Video []string `json:"video,omitempty"`
}

// UnpublishData says which publish ends: the screen share, or (no data)
// the camera's.
type UnpublishData struct {
	Screen bool `json:"screen,omitempty"`
}

// SubscribeData is a subscribe request.
type SubscribeData struct {
	UserID string `json:"userId"`
	SDP    string `json:"sdp"`
	// Video is what the offer's first video section receives: "main" (the
	// default), "small" (the main stream while the publisher sends no
	// small one) or "sub".
	Video string `json:"video,omitempty"`
	// Sub: the offer's second video section receives the publisher's
	// screen share, whenever there is one.
	Sub bool `json:"sub,omitempty"`
}

// SetVideoData switches a subscription's first video section between the
// publisher's "main" and "small" streams.
type SetVideoData struct {
	UserID string `json:"userId"`
	Video  string `json:"video"`
}

// MuteData changes the sender's mute state; absent fields stay as they are.
type MuteData struct {
	Audio *bool `json:"audioMuted"`
	Video *bool `json:"videoMuted"`
}

// UserData names a member (unsubscribe).
type UserData struct {
	UserID string `json:"userId"`
}

// flexString accepts a JSON string or number: the old webrtc-room sends
// recordId as a number, newer SDKs as a string.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(b)
	return nil
}

// maxTypeBytes bounds a request's type: the longest the protocol has is 16
// bytes, and replies name the type.
const maxTypeBytes = 32

// decodeRequest parses one frame; every failure is a parameter error the
// client can act on.
func decodeRequest(b []byte) (*Request, *trtc.Error) {
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "the message is not a JSON request: %v", err)
	}
	if r.Type == "" {
		return &r, trtc.Errorf(trtc.CodeParamCheckFailed, "the request has no type")
	}
	if len(r.Type) > maxTypeBytes { // not quoted: replies must not echo a client's 64 KiB
		return &r, trtc.Errorf(trtc.CodeParamCheckFailed, "the request type is longer than %d bytes", maxTypeBytes)
	}
	return &r, nil
}

// decodeData parses a request's data into v.
func decodeData(r *Request, v any) *trtc.Error {
	if len(r.Data) == 0 {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "%s needs data", r.Type)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "%s data: %v", r.Type, err)
	}
	return nil
}
