package record

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// A receiver that hangs on one file's callback does not hold back the
// others: the second file's callback arrives while the first's request is
// still waiting, and the hung one is delivered once the receiver answers.
func TestAHungCallbackDoesNotHoldBackTheOthers(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var hung string
	hungEnded := false
	got := map[string]int{}
	arrived := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var cb Callback
		json.NewDecoder(req.Body).Decode(&cb)
		mu.Lock()
		first := hung == ""
		if first {
			hung = cb.FileID
		}
		mu.Unlock()
		if first { // the receiver hangs on the first callback until the test lets it go
			select {
			case <-release:
			case <-req.Context().Done():
				mu.Lock()
				hungEnded = true
				mu.Unlock()
				return
			}
		}
		mu.Lock()
		got[cb.FileID]++
		mu.Unlock()
		arrived <- cb.FileID
	}))
	defer srv.Close()
	letGo := sync.OnceFunc(func() { close(release) })
	defer letGo()
	// Deliveries may take long: the hung one stays hung however busy the
	// machine is.
	rec, err := New(Config{Dir: t.TempDir(), Callback: CallbackConfig{URL: srv.URL, Key: "k", Timeout: time.Hour},
		ResumeWindow: time.Hour, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()

	a := recordingInProgress(t, rec, 1)
	b := recordingInProgress(t, rec, 1)
	rec.finalize(a)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		h := hung
		mu.Unlock()
		if h != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first callback never reached the receiver")
		}
	}
	rec.finalize(b)
	select {
	case id := <-arrived:
		mu.Lock()
		ended := hungEnded
		mu.Unlock()
		if id != b.ID || ended {
			t.Fatalf("callback for %s arrived (the hung request over: %v); want %s's while the first still hangs", id, ended, b.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second callback never came")
	}
	letGo()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if jobs, _ := rec.cfg.Store.DueJobs(time.Now().Add(time.Hour)); len(jobs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung callback was never delivered")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got[a.ID] != 1 || got[b.ID] != 1 {
		t.Fatalf("callbacks %v, want one for each file", got)
	}
}
