package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

var rtmpListening = regexp.MustCompile(`msg="rtmp listening" addr=(\S+)`)

// A recording survives `kill -9`: the next start finalises what was
// written (all but the last second at most) and sends its callback. The
// callback receiver is down for 30 s meanwhile, across another restart:
// the callback arrives once it is back, exactly once, signed.
func TestRecordingSurvivesKill9AndCallbackOutlastsOutage(t *testing.T) {
	testffmpeg.Require(t, "ffmpeg")
	const app, key, cbKey = 1400000001, "kill9-test-key", "kill9-callback-key"
	var down atomic.Bool
	down.Store(true)
	var mu sync.Mutex
	var got []record.Callback
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var cb record.Callback
		json.NewDecoder(r.Body).Decode(&cb)
		mu.Lock()
		got = append(got, cb)
		mu.Unlock()
	}))
	defer receiver.Close()

	dir := t.TempDir()
	config := filepath.Join(dir, "trtcd.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("record:\n  callback_url: %s\n  callback_key: %s\n  resume_window: 2s\n", receiver.URL, cbKey)), 0o600)
	args := []string{"--config", config, "--data", filepath.Join(dir, "data"), "--app", fmt.Sprintf("%d:%s", app, key)}

	first := startServe(t, args...)
	rtmpAddr := rtmpListening.FindStringSubmatch(first.stderr.String())[1]
	sig := tlssig.GenUserSig(key, app, "dora", time.Hour, time.Now())
	push := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "30", "-pix_fmt", "yuv420p", "-c:v", "libx264",
		"-profile:v", "baseline", "-g", "15", "-c:a", "aac", "-f", "flv",
		fmt.Sprintf("rtmp://%s/live/%d_8100_dora_main?usersig=%s&recordid=crash-1", rtmpAddr, app, sig))
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	defer push.Process.Kill()
	// Ten seconds into the recording (its partial file appears at the
	// first keyframe), kill -9.
	partials := filepath.Join(dir, "data", "record", "partial", "*.mp4")
	deadline := time.Now().Add(15 * time.Second)
	for m, _ := filepath.Glob(partials); len(m) == 0; m, _ = filepath.Glob(partials) {
		if time.Now().After(deadline) {
			t.Fatalf("no recording started:\n%s", first.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(10 * time.Second)
	first.cmd.Process.Kill()
	first.cmd.Wait()
	push.Wait()
	outage := time.Now()

	second := startServe(t, args...)
	if !strings.Contains(second.stderr.String(), "finalising a recording interrupted by a crash") {
		t.Fatalf("the restart did not recover the recording:\n%s", second.stderr)
	}
	time.Sleep(3 * time.Second) // a few failed deliveries
	second.stop(t)
	third := startServe(t, args...)
	time.Sleep(time.Until(outage.Add(30 * time.Second)))
	down.Store(false)

	deadline = time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // no second delivery follows
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d callbacks after the receiver came back, want exactly 1; log:\n%s", len(got), third.stderr)
	}
	cb := got[0]
	sum := md5.Sum([]byte(cbKey + strconv.FormatInt(cb.T, 10)))
	if cb.Sign != hex.EncodeToString(sum[:]) || !strings.Contains(cb.StreamParam, "userdefinerecordid=crash-1") {
		t.Fatalf("callback %+v", cb)
	}
	file := filepath.Join(dir, "recovered.mp4")
	resp, err := http.Get(cb.VideoURL)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(file)
	io.Copy(f, resp.Body)
	f.Close()
	resp.Body.Close()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file).Output()
	d, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	t.Logf("recovered %.2f s (%d bytes) after kill -9 at 10 s; callback after %d s of outage", d, cb.FileSize, int(time.Since(outage).Seconds()))
	if err != nil || d < 9 {
		t.Fatalf("the recovered file holds %.2f s (%v), want ≥ 9 s", d, err)
	}
}
