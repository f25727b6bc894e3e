package e2e

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
)

const callbackKey = "callback-key-for-tests"

// callbackReceiver is an application server's recording callback endpoint.
type callbackReceiver struct {
	mu  sync.Mutex
	got []record.Callback
	*httptest.Server
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	c := &callbackReceiver{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb record.Callback
		if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.mu.Lock()
		c.got = append(c.got, cb)
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

// forRecord waits for the callback of a recordId.
// wait returns the first n callbacks for recordID.
func (c *callbackReceiver) wait(t *testing.T, recordID string, n int, d time.Duration) []record.Callback {
	t.Helper()
	var got []record.Callback
	for deadline := time.Now().Add(d); len(got) < n; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callbacks for %s within %s", len(got), n, recordID, d)
		}
		c.mu.Lock()
		got = got[:0]
		for _, cb := range c.got {
			if strings.Contains(cb.StreamParam, "userdefinerecordid="+recordID) && len(got) < n {
				got = append(got, cb)
			}
		}
		c.mu.Unlock()
	}
	return got
}

func (c *callbackReceiver) forRecord(t *testing.T, recordID string, d time.Duration) record.Callback {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, cb := range c.got {
			if strings.Contains(cb.StreamParam, "userdefinerecordid="+recordID) {
				c.mu.Unlock()
				return cb
			}
		}
		c.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no callback for recordId %s within %s", recordID, d)
	return record.Callback{}
}

func checkSign(t *testing.T, cb record.Callback) {
	t.Helper()
	sum := md5.Sum([]byte(callbackKey + strconv.FormatInt(cb.T, 10)))
	if cb.Sign != hex.EncodeToString(sum[:]) || cb.EventType != 100 {
		t.Fatalf("callback sign %s (t %d) or event_type %d is wrong", cb.Sign, cb.T, cb.EventType)
	}
}

// startRecordingTrtcd runs trtcd with callbacks to callbackURL and a short
// resume window, so recordings end soon after their publishers.
func startRecordingTrtcd(t *testing.T, callbackURL string) *server.Server {
	return startTrtcdWith(t, func(c *server.Config) {
		c.Record = server.RecordConfig{CallbackURL: callbackURL, CallbackKey: callbackKey, ResumeWindow: 2 * time.Second}
	})
}

// probe is what ffprobe says of a recording.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probeFile(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,codec_type,start_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	json.Unmarshal(out, &p)
	if dec, _ := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); len(strings.TrimSpace(string(dec))) > 0 {
		t.Fatalf("ffmpeg reports errors decoding %s:\n%s", path, dec)
	}
	return p
}

func (p probe) duration() float64 { d, _ := strconv.ParseFloat(p.Format.Duration, 64); return d }

// download fetches a callback's video_url into dir.
func download(t *testing.T, url, dir string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("video_url %s: %s", url, resp.Status)
	}
	path := filepath.Join(dir, "download")
	f, _ := os.Create(path)
	io.Copy(f, resp.Body)
	f.Close()
	return path
}

// A pion WHIP publisher and an ffmpeg RTMP pusher, 20 s each with a
// recordId, give MP4s with H.264 and AAC of 20 s whose audio and video
// start together, each announced by one signed callback whose video_url
// downloads the file; an audio-only push with pureAudioPushMod=2 gives an
// MP3.
func TestRecordingsOfWebRTCAndRTMPPublishers(t *testing.T) {
	requireFFmpeg(t)
	cb := newCallbackReceiver(t)
	srv := startRecordingTrtcd(t, cb.URL)
	base := "http://" + srv.HTTPAddr().String()
	rtmpAddr := srv.RTMPAddr().String()

	whip := publishFiles(t, base, "7100", "alice", "?recordId=rec-whip")
	startFFmpeg(t, pushArgs(pushURL(rtmpAddr, "7200", "bob", "&recordid=rec-rtmp"), "20")...)
	startFFmpeg(t, "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "20", "-c:a", "aac", "-f", "flv",
		pushURL(rtmpAddr, "7300", "carol", "&recordid=rec-mp3&pureaudiomode=2"))
	whip.finish() // its 20 s of media, however long a busy machine takes to send them

	dir := t.TempDir()
	for _, c := range []struct{ recordID, format string }{{"rec-whip", "mp4"}, {"rec-rtmp", "mp4"}, {"rec-mp3", "mp3"}} {
		got := cb.forRecord(t, c.recordID, 20*time.Second)
		checkSign(t, got)
		if got.FileFormat != c.format || !strings.HasPrefix(filepath.Base(got.VideoURL), got.FileID) {
			t.Fatalf("%s: callback %+v", c.recordID, got)
		}
		p := probeFile(t, download(t, got.VideoURL, dir))
		d := p.duration()
		t.Logf("%s: %s, %.2f s, %d bytes, streams %+v", c.recordID, c.format, d, got.FileSize, p.Streams)
		if d < 19.3 || d > 20.7 {
			t.Fatalf("%s lasts %.2f s, want 20 ± 0.5 (ffmpeg and the publisher ran 20 s)", c.recordID, d)
		}
		if c.format == "mp3" {
			if len(p.Streams) != 1 || p.Streams[0].CodecName != "mp3" {
				t.Fatalf("%s: streams %+v", c.recordID, p.Streams)
			}
			continue
		}
		starts := map[string]float64{}
		for _, s := range p.Streams {
			starts[s.CodecName], _ = strconv.ParseFloat(s.StartTime, 64)
		}
		if len(p.Streams) != 2 || len(starts) != 2 {
			t.Fatalf("%s: streams %+v, want h264 and aac", c.recordID, p.Streams)
		}
		if v, a := starts["h264"], starts["aac"]; v-a > 0.1 || a-v > 0.1 {
			t.Fatalf("%s: video starts at %.3f s and audio at %.3f s", c.recordID, v, a)
		}
	}
	cb.mu.Lock()
	if len(cb.got) != 3 {
		t.Fatalf("%d callbacks, want exactly one per file", len(cb.got))
	}
	cb.mu.Unlock()
	checkFilesAPI(t, base)
}

// The files API lists by recordId, serves byte ranges, deletes, and
// refuses callers who are not admins.
func checkFilesAPI(t *testing.T, base string) {
	t.Helper()
	auth := fmt.Sprintf("sdkappid=%d&identifier=administrator&usersig=%s", app, userSig("administrator"))
	var list struct {
		Code  int
		Files []struct {
			File     record.File
			VideoURL string
		}
	}
	getJSON(t, base+"/v1/record/files?recordId=rec-rtmp&"+auth, &list)
	if list.Code != 0 || len(list.Files) != 1 || list.Files[0].File.RecordID != "rec-rtmp" || list.Files[0].File.State != record.StateDone {
		t.Fatalf("listing rec-rtmp: %+v", list)
	}
	id := list.Files[0].File.ID
	req, _ := http.NewRequest("GET", base+"/v1/record/files/"+id+"?"+auth, nil)
	req.Header.Set("Range", "bytes=0-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || len(head) != 8 || string(head[4:8]) != "ftyp" {
		t.Fatalf("a range request got %s and %q", resp.Status, head)
	}
	var reply struct{ Code int }
	getJSON(t, base+"/v1/record/files?"+fmt.Sprintf("sdkappid=%d&identifier=mallory&usersig=%s", app, userSig("mallory")), &reply)
	if reply.Code != int(trtc.RestUnauthorized) {
		t.Fatalf("a non-admin listed files: code %d", reply.Code)
	}
	del, _ := http.NewRequest("DELETE", base+"/v1/record/files/"+id+"?"+auth, nil)
	if resp, err := http.DefaultClient.Do(del); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delete: %v %v", resp, err)
	}
	getJSON(t, base+"/v1/record/files/"+id+"?"+auth, &reply)
	if reply.Code != int(trtc.RestRecordFailed) {
		t.Fatalf("a deleted file answered code %d, want %d", reply.Code, trtc.RestRecordFailed)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// A recorded class: its group messages are written next to the recording
// as JSON Lines whose offsets follow the media timeline, and the files API
// lists the log with the recording.
func TestRecordedClassKeepsItsMessages(t *testing.T) {
	requireFFmpeg(t)
	srv := startRecordingTrtcd(t, "")
	base := "http://" + srv.HTTPAddr().String()
	teacher, _, err := websocket.DefaultDialer.Dial("ws://"+srv.HTTPAddr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer teacher.Close()
	call := func(id int, typ string, data any) {
		raw, _ := json.Marshal(data)
		teacher.WriteJSON(map[string]any{"id": id, "type": typ, "data": json.RawMessage(raw)})
		for {
			var f map[string]any
			teacher.SetReadDeadline(time.Now().Add(10 * time.Second))
			if err := teacher.ReadJSON(&f); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if f["type"] == "reply" && f["id"] == float64(id) {
				if f["code"] != 0.0 {
					t.Fatalf("%s: %v %v", typ, f["code"], f["message"])
				}
				return
			}
		}
	}
	call(1, "login", map[string]any{"sdkAppId": app, "userId": "teacher", "userSig": userSig("teacher")})
	call(2, "createClassroom", map[string]any{"classId": 7400})
	call(3, "joinClassroom", map[string]any{"classId": 7400, "recordId": "lesson-1"})
	cam := publishFiles(t, base, "7400", "teacher-cam", "?recordId=lesson-1")
	for i, at := range []time.Duration{2 * time.Second, 2 * time.Second} {
		time.Sleep(at)
		call(10+i, "sendMessage", map[string]any{"type": "text", "text": fmt.Sprintf("point %d", i+1), "clientMsgId": fmt.Sprint(i)})
	}
	time.Sleep(time.Second)
	cam.stop()

	auth := fmt.Sprintf("sdkappid=%d&identifier=administrator&usersig=%s", app, userSig("administrator"))
	var list struct {
		Files []struct{ File record.File }
	}
	testpeer.WaitFor(t, "the recording and its message log", 15*time.Second, func() bool {
		getJSON(t, base+"/v1/record/files?recordId=lesson-1&"+auth, &list)
		done := 0
		for _, f := range list.Files {
			if f.File.State == record.StateDone && f.File.Format == "mp4" {
				done++
			}
		}
		return done == 1 && len(list.Files) == 2
	})
	var logID string
	for _, f := range list.Files {
		if f.File.Format == "jsonl" {
			logID = f.File.ID
		}
	}
	lines := strings.Split(strings.TrimSpace(get(t, base+"/v1/record/files/"+logID+"?"+auth)), "\n")
	if len(lines) != 2 {
		t.Fatalf("the message log has %d lines: %q", len(lines), lines)
	}
	var prev float64
	for i, l := range lines {
		var entry struct {
			OffsetMs float64
			Message  map[string]any
		}
		json.Unmarshal([]byte(l), &entry)
		want := float64(2000 * (i + 1))
		t.Logf("message %d at %.0f ms into the recording", i+1, entry.OffsetMs)
		if entry.Message["text"] != fmt.Sprintf("point %d", i+1) || entry.OffsetMs < want-1000 || entry.OffsetMs > want+1000 || entry.OffsetMs <= prev {
			t.Fatalf("line %d: %s", i, l)
		}
		prev = entry.OffsetMs
	}
}
