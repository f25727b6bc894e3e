package restapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/restapi"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

type roomSigReply struct {
	ErrorCode int
	ErrorInfo string
	RspHead   struct {
		ErrorCode int
		SeqNo     uint32
	}
	RspBody *restapi.RoomSigBody
}

// The webrtc-room component's room-sig request, as its JS sends it, to
// endpoint (the server's URL and one of the two paths).
func postRoomSig(t *testing.T, endpoint string, app uint32, user, sig, body string) roomSigReply {
	t.Helper()
	url := fmt.Sprintf("%s?sdkappid=%d&identifier=%s&usersig=%s&random=9999&contenttype=json", endpoint, app, user, sig)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r roomSigReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.ErrorCode != r.RspHead.ErrorCode {
		t.Fatalf("ErrorCode %d and RspHead.ErrorCode %d differ", r.ErrorCode, r.RspHead.ErrorCode)
	}
	return r
}

func componentBody(room uint64, pmk string) string {
	return fmt.Sprintf(`{"ReqHead":{"Cmd":1,"SeqNo":42,"BusType":7,"GroupId":%d},"ReqBody":{"PrivMapEncrypt":%q,"TerminalType":1,"FromType":3,"SdkVersion":26280566}}`, room, pmk)
}

func TestRoomSigAnswersTheMiniProgramComponent(t *testing.T) {
	srv := testways.NewCore(t, 0)
	(&restapi.RoomSig{Gate: srv.Gate, RTMPPort: 1935}).Register(srv.Mux)
	srv.Start()
	now := time.Now().Add(-time.Minute)
	pmk := func(room uint32, expire time.Duration, k string) string {
		return tlssig.GenPrivateMapKey(k, testways.OpenApp, "amy", expire, now, tlssig.Room{ID: room}, tlssig.PrivAll)
	}
	noEnter := tlssig.GenPrivateMapKey(testways.Key, testways.OpenApp, "amy", time.Hour, now, tlssig.Room{ID: 900}, tlssig.PrivAll&^tlssig.PrivEnterRoom)
	sig := sigFor(open, "amy", time.Hour)
	cases := []struct {
		name, sig, body string
		code            int
	}{
		{"a valid userSig and privateMapKey get the URLs", sig, componentBody(900, pmk(900, time.Hour, testways.Key)), 0},
		{"a body that is not JSON gets 82", sig, `{"ReqHead":`, 82},
		{"a room id of 0 gets 10005 (roomId missing)", sig, componentBody(0, pmk(900, time.Hour, testways.Key)), 10005},
		{"a room id past 4294967295 gets 10005", sig, componentBody(1<<32, pmk(900, time.Hour, testways.Key)), 10005},
		{"no usersig gets 10004", "", componentBody(900, pmk(900, time.Hour, testways.Key)), 10004},
		{"an expired privateMapKey gets 86", sig, componentBody(900, pmk(900, time.Second, testways.Key)), 86},
		{"a privateMapKey for another room gets 87", sig, componentBody(900, pmk(901, time.Hour, testways.Key)), 87},
		{"a forged privateMapKey gets 87", sig, componentBody(900, pmk(900, time.Hour, "not-the-key")), 87},
		{"a privateMapKey without the enter bit gets 102011", sig, componentBody(900, noEnter), 102011},
		{"a forged userSig gets 70346", tlssig.GenUserSig("not-the-key", open, "amy", time.Hour, now), componentBody(900, pmk(900, time.Hour, testways.Key)), 70346},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := postRoomSig(t, srv.URL+"/v4/openim/jsonvideoapp", open, "amy", c.sig, c.body)
			if r.ErrorCode != c.code {
				t.Fatalf("code %d (%s), want %d", r.ErrorCode, r.ErrorInfo, c.code)
			}
			if c.code != 0 {
				return
			}
			b := r.RspBody
			host := strings.TrimPrefix(srv.URL, "http://")
			host = host[:strings.LastIndex(host, ":")]
			if r.RspHead.SeqNo != 42 || b == nil || b.RoomID != 900 || b.Privilege != 0xff ||
				!strings.HasPrefix(b.PushURL, fmt.Sprintf("rtmp://%s:1935/live/%d_900_amy_main?", host, open)) ||
				!strings.Contains(b.PlayURL, "_900_{userId}_main?") || !strings.Contains(b.FLVURL, "_{userId}_main.flv?") {
				t.Fatalf("reply %+v", r)
			}
		})
	}
	// TAvKit's privateMapKey is optional (seed 004): an app that does not
	// require one grants the room on the userSig alone, as every other way
	// in does; an app that requires one answers 80.
	t.Run("an empty PrivMapEncrypt gets 80 where the app requires a privateMapKey", func(t *testing.T) {
		strictSig := sigFor(testways.StrictApp, "amy", time.Hour)
		if r := postRoomSig(t, srv.URL+"/v4/openim/jsonvideoapp", testways.StrictApp, "amy", strictSig, componentBody(900, "")); r.ErrorCode != 80 {
			t.Fatalf("code %d (%s), want 80", r.ErrorCode, r.ErrorInfo)
		}
		r := postRoomSig(t, srv.URL+"/v4/openim/jsonvideoapp", open, "amy", sig, componentBody(900, ""))
		if r.ErrorCode != 0 || r.RspBody == nil || r.RspBody.Privilege != 0xff || !strings.Contains(r.RspBody.PushURL, "_900_amy_main?") {
			t.Fatalf("without a privateMapKey on an app that does not require one: %+v", r)
		}
	})
	t.Run("no sdkappid gets 10003", func(t *testing.T) {
		if r := postRoomSig(t, srv.URL+"/v4/openim/jsonvideoapp", 0, "amy", sig, componentBody(900, pmk(900, time.Hour, testways.Key))); r.ErrorCode != 10003 {
			t.Fatalf("code %d (%s), want 10003", r.ErrorCode, r.ErrorInfo)
		}
	})
	t.Run("no identifier gets 10002", func(t *testing.T) {
		if r := postRoomSig(t, srv.URL+"/v4/openim/jsonvideoapp", open, "", sig, componentBody(900, pmk(900, time.Hour, testways.Key))); r.ErrorCode != 10002 {
			t.Fatalf("code %d (%s), want 10002", r.ErrorCode, r.ErrorInfo)
		}
	})
	t.Run("the older path answers the same", func(t *testing.T) {
		if r := postRoomSig(t, srv.URL+"/v4/trtc/jsonvideoapp", open, "amy", sig, componentBody(900, pmk(900, time.Hour, testways.Key))); r.ErrorCode != 0 || r.RspBody == nil {
			t.Fatalf("reply %+v", r)
		}
	})
}

// WeChat lets a mini program reach only https:// and wss:// addresses of
// its configured domains. Asked over TLS (trtcd's --https listener, or a
// TLS-terminating proxy that says X-Forwarded-Proto: https), jsonvideoapp
// answers an https:// FlvUrl on the address it was asked at; over plain
// HTTP, http://.
func TestRoomSigOverTLSAnswersHTTPSFLV(t *testing.T) {
	srv := testways.NewCore(t, 0)
	(&restapi.RoomSig{Gate: srv.Gate, RTMPPort: 1935}).Register(srv.Mux)
	srv.StartTLS()
	now := time.Now().Add(-time.Minute)
	body := componentBody(900, tlssig.GenPrivateMapKey(testways.Key, open, "amy", time.Hour, now, tlssig.Room{ID: 900}, tlssig.PrivAll))
	ask := func(base string, header http.Header) roomSigReply {
		t.Helper()
		url := fmt.Sprintf("%s/v4/openim/jsonvideoapp?sdkappid=%d&identifier=amy&usersig=%s&random=1&contenttype=json", base, open, sigFor(open, "amy", time.Hour))
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r roomSigReply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ErrorCode != 0 || r.RspBody == nil {
			t.Fatalf("reply %+v (%v)", r, err)
		}
		return r
	}
	host := strings.TrimPrefix(srv.URL, "https://")
	if got := ask(srv.URL, nil).RspBody.FLVURL; !strings.HasPrefix(got, "https://"+host+"/live/") {
		t.Fatalf("over TLS the FlvUrl is %q, want https://%s/live/…", got, host)
	}

	plain := testways.NewCore(t, 0)
	(&restapi.RoomSig{Gate: plain.Gate, RTMPPort: 1935}).Register(plain.Mux)
	plain.Start()
	phost := strings.TrimPrefix(plain.URL, "http://")
	if got := ask(plain.URL, nil).RspBody.FLVURL; !strings.HasPrefix(got, "http://"+phost+"/live/") {
		t.Fatalf("over plain HTTP the FlvUrl is %q, want http://%s/live/…", got, phost)
	}
	if got := ask(plain.URL, http.Header{"X-Forwarded-Proto": {"https"}}).RspBody.FLVURL; !strings.HasPrefix(got, "https://"+phost+"/live/") {
		t.Fatalf("behind a TLS proxy the FlvUrl is %q, want https://%s/live/…", got, phost)
	}
}
