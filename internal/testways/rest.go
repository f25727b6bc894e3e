package testways

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/trtc"
)

// REST calls op of the room REST API at base (http://host:port) as
// OpenApp's application server does, signed in as identifier with its
// userSig sig, and returns the reply's JSON. REST failures are in the
// body: any HTTP status but 200 fails the test.
func REST(t testing.TB, base, op, identifier, sig, body string) map[string]any {
	t.Helper()
	url := fmt.Sprintf("%s/v4/trtcd/%s?sdkappid=%d&identifier=%s&usersig=%s&random=1&contenttype=json", base, op, OpenApp, identifier, sig)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", op, resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: not JSON: %s", op, b)
	}
	return out
}

// RESTCode is the code of a REST reply.
func RESTCode(reply map[string]any) trtc.Code { return trtc.Code(reply["code"].(float64)) }
