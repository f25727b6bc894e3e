package trtc

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/record"
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
	url, want := serveRecording(t, size, serverTimeout, perWrite)
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
// an http.Server with the given write timeout; it returns the file's
// signed download URL and its SHA-256.
func serveRecording(t *testing.T, size int64, serverTimeout, perWrite time.Duration) (string, []byte) {
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
	f := &record.File{ID: "f1", SDKAppID: open, State: record.StateDone, Format: "mp4", Name: "big.mp4", Size: size, End: time.Now()}
	if err := store.Put(f); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.WriteTimeout = serverTimeout
	rec, err := record.New(record.Config{Dir: dir, DB: db, PublicURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	(&RecordAPI{Recorder: rec, WriteTimeout: perWrite}).Register(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	return rec.DownloadURL(f), sum
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
