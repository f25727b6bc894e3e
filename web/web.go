// Package web serves what a browser needs from trtcd: the SDK
// (/sdk/trtcd.js with its types) and the 1v1 demo page at /.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/trtcd/trtcd/miniprogram/tic"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

//go:embed static
var static embed.FS

// DevApp is the development application whose userSigs the demo may mint
// for itself; nil on servers with configured applications.
type DevApp struct {
	SDKAppID uint32
	Key      string
	// Admins are the identifiers that may call the REST and files APIs;
	// /dev/usersig never mints a token for them.
	Admins []string
	// Anywhere (--dev) lets /dev/usersig answer pages of other machines:
	// a test machine on a private network. Otherwise it answers only a
	// page of this machine (fromThisMachine).
	Anywhere bool
}

// contentSecurityPolicy is what the pages may load and do: their own
// scripts, styles and fetches, and the /ws WebSocket. The video elements
// play MediaStreams (srcObject), which no source list governs. No inline
// script or style, no plugins, no <base>, and no framing: another site
// cannot put a page with the camera on under its own clicks.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// devSigLifetime: demo signatures are short-lived.
const devSigLifetime = 24 * time.Hour

// Register adds the SDK, the demo page and, for a development server, the
// userSig helper to mux.
func Register(mux *http.ServeMux, dev *DevApp) {
	files, _ := fs.Sub(static, "static") // the embedded tree always has it
	fileServer := http.FileServerFS(files)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
		if strings.HasSuffix(r.URL.Path, ".d.ts") {
			h.Set("Content-Type", "text/plain; charset=utf-8") // not video/mp2t
		}
		if strings.HasSuffix(r.URL.Path, ".js") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		fileServer.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /sdk/tic-core.js", serveTICCore)
	if dev != nil {
		mux.HandleFunc("GET /dev/usersig", dev.userSig)
	}
}

// serveTICCore serves the TIC core the browser's /sdk/tic.js and the mini
// program share (miniprogram/tic).
func serveTICCore(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.Write(tic.Core)
}

// fromThisMachine reports whether a request comes from this machine to a
// loopback name. The listener being on loopback is not enough: a web page
// the developer opens can rebind its own host name to 127.0.0.1 and read
// minted userSigs (the Host header gives it away), and a proxy on this
// machine makes a loopback listener public (its forwarding headers do).
func fromThisMachine(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false
	}
	if addr, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !addr.Addr().Unmap().IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return ip.Unmap().IsLoopback()
	}
	return host == "localhost"
}

// userSig mints a userSig of the development app for the demo page.
func (d *DevApp) userSig(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("userId")
	w.Header().Set("Content-Type", "application/json")
	if !d.Anywhere && !fromThisMachine(r) {
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"code": 100006, "message": "the development app mints userSigs only for a page of this machine (localhost or a loopback address, no proxy)"})
		return
	}
	if !trtc.ValidUserID(user) { // else the page would get a userSig the server refuses
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"code": 10002, "message": "userId: 1 to 32 of A-Z a-z 0-9 _ -"})
		return
	}
	if slices.Contains(d.Admins, user) {
		// An admin userSig opens the REST API (kick, close rooms) and the
		// recordings: mint it with `trtcd sig gen usersig` and the key.
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"code": 100006, "message": "the development app does not mint userSigs for admin identifiers (they open the REST and files APIs)"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"sdkAppId": d.SDKAppID,
		"userId":   user,
		"userSig":  tlssig.GenUserSig(d.Key, d.SDKAppID, user, devSigLifetime, time.Now()),
	})
}
