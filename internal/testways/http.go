package testways

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/trtc"
)

// Reply is an HTTP answer as a way in gives it: the status, and the TRTC
// code and message of a JSON body.
type Reply struct {
	Status   int
	Code     trtc.Code
	Message  string
	Body     string
	Location string
}

// Post sends body to url with a Bearer token ("" for none).
func Post(t testing.TB, url, token, contentType, body string) Reply {
	return PostFrom(t, http.DefaultClient, url, token, contentType, body)
}

// PostFrom is Post from client c (see FromAddress).
func PostFrom(t testing.TB, c *http.Client, url, token, contentType, body string) Reply {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	return Do(t, c, req)
}

// Get fetches url from client c and reads the whole body (do not use it
// for a stream that plays).
func Get(t testing.TB, c *http.Client, url string) Reply {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Do(t, c, req)
}

// Do sends req from c and reads the reply; a JSON body must carry a code.
func Do(t testing.TB, c *http.Client, req *http.Request) Reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := Reply{Status: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location")}
	if resp.Header.Get("Content-Type") == "application/json" {
		var e struct {
			Code    trtc.Code `json:"code"`
			Message string    `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body is not JSON: %s", b)
		}
		r.Code, r.Message = e.Code, e.Message
	}
	return r
}

// FromAddress is a client whose connections come from a given loopback
// address (127.0.0.2, …): another NAT address as far as the server can
// tell.
func FromAddress(t testing.TB, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
