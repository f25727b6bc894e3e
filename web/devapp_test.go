package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The development app mints userSigs only for a page of this machine: a
// page elsewhere that rebinds its name to 127.0.0.1 (DNS rebinding) names
// itself in Host, and a proxy in front adds its forwarding headers.
func TestDevUserSigsOnlyForThisMachine(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux, &DevApp{SDKAppID: 1400000001, Key: "k", Admins: []string{"administrator"}})
	for _, c := range []struct {
		host, remote, forwarded string
		want                    int
	}{
		{"127.0.0.1:8080", "127.0.0.1:5555", "", http.StatusOK},
		{"localhost:8080", "127.0.0.1:5555", "", http.StatusOK},
		{"[::1]:8080", "[::1]:5555", "", http.StatusOK},
		{"attacker.example:8080", "127.0.0.1:5555", "", http.StatusForbidden},
		{"127.0.0.1:8080", "127.0.0.1:5555", "203.0.113.7", http.StatusForbidden},
		{"127.0.0.1:8080", "203.0.113.7:5555", "", http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/dev/usersig?userId=alice", nil)
		r.Host, r.RemoteAddr = c.host, c.remote
		if c.forwarded != "" {
			r.Header.Set("X-Forwarded-For", c.forwarded)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("Host %s from %s (forwarded for %q): %d %s, want %d", c.host, c.remote, c.forwarded, w.Code, w.Body, c.want)
		}
	}
}

// With --dev (Anywhere) it answers other machines: a test machine on a
// private network.
func TestDevUserSigsAnywhereWithDev(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux, &DevApp{SDKAppID: 1400000001, Key: "k", Anywhere: true})
	r := httptest.NewRequest("GET", "/dev/usersig?userId=alice", nil)
	r.Host, r.RemoteAddr = "192.168.1.20:8080", "192.168.1.30:5555"
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("with --dev a phone on the network got %d %s", w.Code, w.Body)
	}
}
