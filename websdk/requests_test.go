package websdk

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/trtc"
)

// The SDK's schedule call is rationed per address, like its sockets: past
// the burst one address gets 429 with 14009 (readable by the page, CORS),
// and another address is still scheduled.
func TestScheduleIsRationedPerAddress(t *testing.T) {
	base, _, _ := limitedServer(t, Limits{PerAddress: limit.Config{PerSecond: 0.001, Burst: 3}})
	for i := range 3 {
		if code := postFrom(t, "127.0.0.1", base+Prefix+"/api/v1/config"); code != http.StatusOK {
			t.Fatalf("schedule %d of a burst of 3: HTTP %d", i+1, code)
		}
	}
	if code := postFrom(t, "127.0.0.1", base+"/api/v1/config"); code != http.StatusTooManyRequests {
		t.Fatalf("the 4th schedule in a burst of 3: HTTP %d, want 429", code)
	}
	if code := postFrom(t, "127.0.0.2", base+Prefix+"/api/v1/config"); code != http.StatusOK {
		t.Fatalf("another address: HTTP %d", code)
	}
}

// Log uploads are rationed per address at five times the sockets' rate
// (every joined page uploads every 2 s).
func TestLogUploadsAreRationedPerAddress(t *testing.T) {
	base, _, _ := limitedServer(t, Limits{PerAddress: limit.Config{PerSecond: 0.001, Burst: 1}})
	for i := range 5 {
		if code := postFrom(t, "127.0.0.1", base+Prefix+"/v5/AVQualityReportSvc/C2S"); code != http.StatusOK {
			t.Fatalf("upload %d of a burst of 5: HTTP %d", i+1, code)
		}
	}
	if code := postFrom(t, "127.0.0.1", base+"/v5/AVQualityReportSvc/C2S"); code != http.StatusTooManyRequests {
		t.Fatalf("the 6th upload in a burst of 5: HTTP %d, want 429", code)
	}
}

// A log upload larger than any the SDK sends is read only up to 64 KiB,
// and still answered "ok", so the SDK does not send it again.
func TestALargeLogUploadIsCutAt64KiB(t *testing.T) {
	h := &Handler{}
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	w := httptest.NewRecorder()
	h.logs(w, httptest.NewRequest("POST", "/v5/AVQualityReportSvc/C2S?cmdtype=jssdk_log", body))
	if w.Code != http.StatusOK || w.Body.String() != "ok" {
		t.Fatalf("answered %d %q, want 200 ok", w.Code, w.Body)
	}
	if body.n > 64<<10+1 {
		t.Fatalf("read %d bytes of a 1 MiB upload, want at most 64 KiB", body.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// postFrom posts an empty form to url from the loopback address from and
// returns the status; a 429 must carry code 14009 and CORS.
func postFrom(t *testing.T, from, url string) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(url, "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		var body struct{ Code trtc.Code }
		if json.NewDecoder(resp.Body).Decode(&body); body.Code != trtc.CodeRateLimited || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("refused with code %d, CORS %q; want 14009 and *", body.Code, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	return resp.StatusCode
}
