package ws

import (
	"encoding/json"
	"testing"

	"github.com/trtcd/trtcd/trtc"
)

// FuzzDecodeRequest: any frame a client sends is decoded into a request
// and its data, or refused with a parameter error, never a panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"x","roomId":5,"recordId":123}}`))
	f.Add([]byte(`{"id":2,"type":"publish","data":{"sdp":"v=0\r\n"}}`))
	f.Add([]byte(`{"id":3,"type":"mute","data":{"audioMuted":true}}`))
	f.Add([]byte(`{"type":""}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, e := decodeRequest(b)
		if e != nil {
			if e.Code != trtc.CodeParamCheckFailed {
				t.Fatalf("decode error with code %d", e.Code)
			}
			return
		}
		for _, v := range []any{&JoinData{}, &SDPData{}, &MuteData{}, &UserData{}} {
			if e := decodeData(req, v); e != nil && e.Code != trtc.CodeParamCheckFailed {
				t.Fatalf("data error with code %d", e.Code)
			}
		}
		if _, err := json.Marshal(Reply{ID: req.ID, Type: "reply", Data: req.Data}); err != nil && json.Valid(req.Data) {
			t.Fatalf("a reply echoing the data does not encode: %v", err)
		}
	})
}
