package record

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// CallbackConfig says where completion callbacks go.
type CallbackConfig struct {
	URL string // empty: no callbacks
	// Key signs each callback: sign = MD5(Key + t), as Tencent's do.
	Key string
	// AppID is sent as appid (the Tencent Cloud account id in Tencent's
	// callbacks; trtcd sends the sdkAppId when zero).
	AppID uint64
	// Timeout bounds one delivery: a receiver slower than that is tried
	// again later [10s].
	Timeout time.Duration
}

// Callback is the body of a recording-finished callback, in the shape of
// Tencent's live recording callback (event_type 100), so an application
// server written for Tencent's cloud reads it unchanged.
type Callback struct {
	EventType     int    `json:"event_type"`
	AppID         uint64 `json:"appid"`
	SDKAppID      uint32 `json:"sdkappid"`
	App           string `json:"app"`
	AppName       string `json:"appname"`
	StreamID      string `json:"stream_id"`
	ChannelID     string `json:"channel_id"`
	FileID        string `json:"file_id"`
	RecordFileID  string `json:"record_file_id"`
	FileFormat    string `json:"file_format"`
	StartTime     int64  `json:"start_time"`
	EndTime       int64  `json:"end_time"`
	StartTimeUsec int    `json:"start_time_usec"`
	EndTimeUsec   int    `json:"end_time_usec"`
	Duration      int64  `json:"duration"`
	FileSize      int64  `json:"file_size"`
	StreamParam   string `json:"stream_param"`
	VideoURL      string `json:"video_url"`
	// Status is trtcd's own: "done", or "failed" when no playable file
	// could be made of what was recorded (no video_url, file_size or
	// duration then; Error says why). Tencent sends callbacks only for
	// files made; a receiver written for them should check it.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// IdempotencyKey is the same for every delivery of one file's
	// callback (also sent as the Idempotency-Key header): deliveries are
	// at least once.
	IdempotencyKey string `json:"idempotency_key"`
	T              int64  `json:"t"`
	Sign           string `json:"sign"`
}

// callbackValidity: t is when the signature stops being valid, ten minutes
// on, as Tencent's default.
const callbackValidity = 10 * time.Minute

// buildCallback fills a callback for a final file.
func buildCallback(cfg CallbackConfig, f *File, videoURL string, now time.Time) Callback {
	appID := cfg.AppID
	if appID == 0 {
		appID = uint64(f.SDKAppID)
	}
	param := url.Values{"userid": {base64.StdEncoding.EncodeToString([]byte(f.UserID))}}
	if f.RecordID != "" {
		param.Set("userdefinerecordid", f.RecordID)
		param.Set("recordid", f.RecordID)
	}
	t := now.Add(callbackValidity).Unix()
	sum := md5.Sum([]byte(fmt.Sprint(cfg.Key, t)))
	return Callback{
		EventType: 100, AppID: appID, SDKAppID: f.SDKAppID, App: "trtcd", AppName: "live",
		StreamID: f.StreamID, ChannelID: f.StreamID, FileID: f.ID, RecordFileID: f.ID,
		FileFormat: f.Format,
		StartTime:  f.Start.Unix(), StartTimeUsec: f.Start.Nanosecond() / 1000,
		EndTime: f.End.Unix(), EndTimeUsec: f.End.Nanosecond() / 1000,
		Duration: int64(f.Duration + 0.5), FileSize: f.Size,
		StreamParam: param.Encode(), VideoURL: videoURL, Status: f.State, Error: f.Error,
		IdempotencyKey: f.ID, T: t, Sign: hex.EncodeToString(sum[:]),
	}
}

// Retry backoff for callbacks: quick at first, then every maxBackoff,
// forever (a receiver that comes back after days still gets them).
const (
	firstBackoff = time.Second
	maxBackoff   = 10 * time.Second
)

func backoff(attempts int) time.Duration {
	d := firstBackoff << min(attempts, 10)
	return min(d, maxBackoff)
}

// callbackWorkers is how many callbacks are delivered at once: a receiver
// that hangs on one (up to CallbackConfig.Timeout) holds one worker, not
// every other file's callback.
const callbackWorkers = 4

// notifier delivers the outbox.
type notifier struct {
	cfg      CallbackConfig
	store    *Store
	log      *slog.Logger
	client   *http.Client
	videoURL func(*File) string
	wake     chan struct{}

	mu       sync.Mutex
	inFlight map[string]bool // file ids being delivered
	workers  sync.WaitGroup
}

// run delivers due callbacks until ctx ends; wake makes it look at once.
// It returns once the deliveries under way have ended.
func (n *notifier) run(ctx context.Context) {
	defer n.workers.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.wake:
		}
	}
}

// deliverDue starts delivering the due callbacks not under way, as many
// as there are free workers; the rest wait for the next look.
func (n *notifier) deliverDue(ctx context.Context) {
	jobs, err := n.store.DueJobs(time.Now())
	if err != nil {
		n.log.Error("reading the callback outbox", "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.inFlight == nil {
		n.inFlight = map[string]bool{}
	}
	for _, j := range jobs {
		if ctx.Err() != nil || len(n.inFlight) >= callbackWorkers {
			return
		}
		if n.inFlight[j.FileID] {
			continue
		}
		n.inFlight[j.FileID] = true
		n.workers.Add(1)
		go func() {
			defer n.workers.Done()
			n.deliver(ctx, j)
			n.mu.Lock()
			delete(n.inFlight, j.FileID)
			n.mu.Unlock()
			select { // a worker is free: look again
			case n.wake <- struct{}{}:
			default:
			}
		}()
	}
}

func (n *notifier) deliver(ctx context.Context, j *Job) {
	// The outbox was read before another worker may have delivered or
	// rescheduled the job: only one still due goes.
	j, err := n.store.Job(j.FileID)
	if err != nil || j.Next.After(time.Now()) {
		return
	}
	f, err := n.store.Get(j.FileID)
	if err != nil { // deleted since
		n.store.Done(j.FileID)
		return
	}
	if n.cfg.URL == "" {
		n.store.Done(j.FileID)
		return
	}
	video := ""
	if f.State == StateDone {
		video = n.videoURL(f)
	}
	err = n.post(ctx, buildCallback(n.cfg, f, video, time.Now()))
	if err == nil {
		n.log.Info("recording callback delivered", "file", f.ID, "record_id", f.RecordID, "attempts", j.Attempts+1)
		n.store.Done(j.FileID)
		return
	}
	j.Attempts++
	j.LastErr = err.Error()
	j.Next = time.Now().Add(backoff(j.Attempts))
	if j.Attempts == 1 || j.Attempts%30 == 0 {
		n.log.Warn("recording callback not delivered; will retry", "file", f.ID, "attempts", j.Attempts, "err", err)
	}
	n.store.Reschedule(j)
}

func (n *notifier) post(ctx context.Context, cb Callback) error {
	body, _ := json.Marshal(cb)
	timeout := n.cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", cb.IdempotencyKey)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
