package restapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/restapi"
	"github.com/trtcd/trtcd/trtc"
)

// A 300 MB recording fetched at a slow rate, for longer than the server's
// write timeout, arrives complete: each write has its own deadline instead.
// The server's timeout is 2 s here so that the test is quick; with
// TRTCD_SLOW_DOWNLOAD=1 it is the real server's 30 s, and the download
// lasts 40 s.
func TestRecordingDownloadOutlastsTheServerWriteTimeout(t *testing.T) {
	serverTimeout, perWrite, lasting := 2*time.Second, time.Second, 3*time.Second
	if os.Getenv("TRTCD_SLOW_DOWNLOAD") == "1" {
		serverTimeout, perWrite, lasting = 30*time.Second, 0, 40*time.Second
	}
	const size = 300 << 20
	_, url, want := serveRecording(t, size, serverTimeout, perWrite)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: HTTP %d", resp.StatusCode)
	}
	start := time.Now()
	got, n, err := readSlowly(resp.Body, size, lasting)
	elapsed := time.Since(start)
	t.Logf("%d MB in %s (server write timeout %s)", n>>20, elapsed.Round(time.Millisecond), serverTimeout)
	if err != nil || n != size || !bytes.Equal(got, want) {
		t.Fatalf("after %s: %d of %d bytes, checksum match %v, err %v", elapsed, n, size, bytes.Equal(got, want), err)
	}
	if elapsed <= serverTimeout {
		t.Fatalf("the download took %s, not longer than the write timeout %s: the test proves nothing", elapsed, serverTimeout)
	}
}

// The files API answers an app's admin only, with the app's files only;
// a signed link that was tampered with is refused.
func TestRecordFilesAreTheAppAdminsOnly(t *testing.T) {
	base, signed, _ := serveRecording(t, 2<<20, 10*time.Second, 0)
	call := func(method, path, identifier string, app uint32) testways.Reply {
		t.Helper()
		url := fmt.Sprintf("%s%s?sdkappid=%d&identifier=%s&usersig=%s", base, path, app, identifier, testways.UserSig(app, identifier, time.Hour))
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return bodyCode(t, testways.Do(t, http.DefaultClient, req))
	}
	for _, tc := range []struct {
		story, method, path, identifier string
		app                             uint32
		status                          int
		code                            trtc.Code
	}{
		{"a user who is not an admin lists", "GET", "/v1/record/files", "alice", testways.OpenApp, 200, trtc.RestUnauthorized},
		{"a user who is not an admin downloads", "GET", "/v1/record/files/f1", "alice", testways.OpenApp, 200, trtc.RestUnauthorized},
		{"a user who is not an admin deletes", "DELETE", "/v1/record/files/f1", "alice", testways.OpenApp, 200, trtc.RestUnauthorized},
		{"the admin of another app downloads", "GET", "/v1/record/files/f1", trtc.DefaultAdmin, testways.StrictApp, 404, trtc.RestRecordFailed},
		{"the admin of an app that requires privateMapKeys lists its own", "GET", "/v1/record/files", trtc.DefaultAdmin, testways.StrictApp, 200, trtc.CodeOK},
		{"the admin downloads a file that is not there", "GET", "/v1/record/files/f2", trtc.DefaultAdmin, testways.OpenApp, 404, trtc.RestRecordFailed},
		{"the admin deletes a file that is not there", "DELETE", "/v1/record/files/f2", trtc.DefaultAdmin, testways.OpenApp, 200, trtc.RestRecordFailed},
		{"the admin lists", "GET", "/v1/record/files", trtc.DefaultAdmin, testways.OpenApp, 200, trtc.CodeOK},
		{"the admin downloads", "GET", "/v1/record/files/f1", trtc.DefaultAdmin, testways.OpenApp, 200, trtc.CodeOK},
	} {
		if r := call(tc.method, tc.path, tc.identifier, tc.app); r.Status != tc.status || r.Code != tc.code {
			t.Errorf("%s: HTTP %d, code %d (%s); want HTTP %d, code %d", tc.story, r.Status, r.Code, r.Message, tc.status, tc.code)
		}
	}
	var list struct {
		Files []struct {
			File     record.File `json:"file"`
			VideoURL string      `json:"videoUrl"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(call("GET", "/v1/record/files", trtc.DefaultAdmin, testways.OpenApp).Body), &list); err != nil ||
		len(list.Files) != 1 || list.Files[0].File.ID != "f1" || list.Files[0].VideoURL == "" {
		t.Fatalf("the admin's list: %+v (%v)", list, err)
	}
	if r := bodyCode(t, testways.Get(t, http.DefaultClient, strings.Replace(signed, "sign=", "sign=0", 1))); r.Status != http.StatusForbidden || r.Code != trtc.RestRecordFailed {
		t.Fatalf("a tampered signed link: HTTP %d, code %d", r.Status, r.Code)
	}
	if r := call("DELETE", "/v1/record/files/f1", trtc.DefaultAdmin, testways.OpenApp); r.Code != trtc.CodeOK {
		t.Fatalf("delete: %d %s", r.Code, r.Message)
	}
	if r := call("GET", "/v1/record/files/f1", trtc.DefaultAdmin, testways.OpenApp); r.Status != http.StatusNotFound {
		t.Fatalf("the deleted file: HTTP %d", r.Status)
	}
}

// bodyCode reads the code and message of a JSON body whatever its
// Content-Type: the 403 and 404 of the files API carry the body as
// text/plain, since the status is written before the JSON's header.
func bodyCode(t *testing.T, r testways.Reply) testways.Reply {
	t.Helper()
	if r.Code == 0 && r.Status != http.StatusOK {
		var e struct {
			Code    trtc.Code `json:"code"`
			Message string    `json:"message"`
		}
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
			t.Fatalf("a body that is not JSON: %s", r.Body)
		}
		r.Code, r.Message = e.Code, e.Message
	}
	return r
}

// readSlowly reads size bytes from r at a pace that takes about lasting,
// and returns their SHA-256.
func readSlowly(r io.Reader, size int64, lasting time.Duration) ([]byte, int64, error) {
	const chunk = 1 << 20
	pause := lasting / time.Duration(size/chunk)
	h := sha256.New()
	var n int64
	for {
		m, err := io.CopyN(h, r, chunk)
		n += m
		if err == io.EOF {
			return h.Sum(nil), n, nil
		}
		if err != nil {
			return h.Sum(nil), n, err
		}
		time.Sleep(pause)
	}
}

// serveRecording indexes a final recording of size bytes (sparse, with
// random blocks at its start, middle and end) and serves the files API on
// an http.Server with the given write timeout; it returns the server's
// URL, the file's signed download URL and its SHA-256.
func serveRecording(t *testing.T, size int64, serverTimeout, perWrite time.Duration) (string, string, []byte) {
	dir := t.TempDir()
	sum := writeSparseFile(t, filepath.Join(dir, "big.mp4"), size)
	db, err := bolt.Open(filepath.Join(dir, "index.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := record.NewStore(db)
	if err != nil {
		t.Fatal(err)
	}
	f := &record.File{ID: "f1", SDKAppID: testways.OpenApp, State: record.StateDone, Format: "mp4", Name: "big.mp4", Size: size, End: time.Now()}
	if err := store.Put(f); err != nil {
		t.Fatal(err)
	}
	srv := testways.NewCore(t, 0)
	srv.Config.WriteTimeout = serverTimeout
	rec, err := record.New(record.Config{Dir: dir, DB: db, PublicURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	(&restapi.Records{Gate: srv.Gate, Recorder: rec, WriteTimeout: perWrite}).Register(srv.Mux)
	srv.Start()
	return srv.URL, rec.DownloadURL(f), sum
}

func writeSparseFile(t *testing.T, path string, size int64) []byte {
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := file.Truncate(size); err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 1<<20)
	for _, at := range []int64{0, size / 2, size - int64(len(block))} {
		rand.Read(block)
		if _, err := file.WriteAt(block, at); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}
