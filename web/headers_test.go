package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The pages (and everything else under /) come with a Content-Security-
// Policy that allows only their own scripts and styles and forbids framing,
// so an injected <script> or a site framing the camera page under its own
// clicks gets nowhere.
func TestPagesForbidInlineScriptsAndFraming(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux, nil)
	for _, path := range []string{"/", "/classroom.html", "/demo.js", "/sdk/trtcd.js"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, w.Code)
		}
		csp := directives(w.Header().Get("Content-Security-Policy"))
		for name, want := range map[string]string{
			"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
			"object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'",
		} {
			if csp[name] != want {
				t.Errorf("GET %s: Content-Security-Policy %s is %q, want %q", path, name, csp[name], want)
			}
		}
		if !strings.Contains(csp["connect-src"], "'self'") || !strings.Contains(csp["connect-src"], "wss:") {
			t.Errorf("GET %s: connect-src %q does not let the SDK reach /ws", path, csp["connect-src"])
		}
		if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q, want DENY", path, got)
		}
	}
}

// The policy allows no inline script or style, so the pages must not need
// them: every <script> has a src, and neither the HTML nor HTML the scripts
// write has on…= handlers, style attributes or <style> elements.
func TestPagesNeedNoInlineScriptOrStyle(t *testing.T) {
	scriptTag := regexp.MustCompile(`<script[^>]*>`)
	inline := regexp.MustCompile(`<[a-zA-Z][^<>]*\s(?:style|on[a-z]+)\s*=|<style`) // in a tag, in the HTML or in a string
	fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") && !strings.HasSuffix(path, ".js") {
			return err
		}
		b, _ := static.ReadFile(path)
		for _, tag := range scriptTag.FindAll(b, -1) {
			if !strings.Contains(string(tag), " src=") {
				t.Errorf("%s has an inline <script>, which the Content-Security-Policy blocks: %s", path, tag)
			}
		}
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has an inline handler or style, which the Content-Security-Policy blocks: %q", path, m)
		}
		return nil
	})
}

func directives(policy string) map[string]string {
	m := map[string]string{}
	for _, d := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			m[name] = strings.TrimSpace(value)
		}
	}
	return m
}
