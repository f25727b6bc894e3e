package restapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/trtc"
)

// Records is the recording files API for application servers, admitted
// by the gate as an admin like the room REST API (sdkappid, identifier,
// usersig in the query); a file that cannot be got answers code 14008,
// a failed delete 10006:
//
//	GET    /v1/record/files?recordId=&room=&userId=&from=&to=   list (from/to: Unix seconds)
//	GET    /v1/record/files/{id}                                 download (HTTP Range works)
//	DELETE /v1/record/files/{id}                                 delete
//	GET    /v1/record/download/{id}?expires=&sign=               the signed URL of a callback's video_url
type Records struct {
	Gate     *trtc.Gate // admits the admin
	Recorder *record.Recorder
	// Limits ration calls per client address (IPv6 per /64) [50/s, burst
	// 200; Connections is not used]. A zero field takes its default, a
	// negative one turns that limit off. Over them: HTTP 429, code 14009.
	Limits limit.Config
	// WriteTimeout bounds each write of a download [30s]. It replaces the
	// server's WriteTimeout, which bounds a whole response and would cut
	// off an hour-long file fetched at an ordinary rate; a client that
	// takes nothing for this long is still dropped.
	WriteTimeout time.Duration
}

// DefaultDownloadWriteTimeout is Records.WriteTimeout's default.
const DefaultDownloadWriteTimeout = 30 * time.Second

// Register adds the routes.
func (a *Records) Register(mux *http.ServeMux) {
	gate := limit.NewGate(a.Limits.Or(wayin.DefaultAddressLimits))
	mux.HandleFunc("GET /v1/record/files", wayin.RateLimited(gate, a.list))
	mux.HandleFunc("GET /v1/record/files/{id}", wayin.RateLimited(gate, a.download))
	mux.HandleFunc("DELETE /v1/record/files/{id}", wayin.RateLimited(gate, a.delete))
	mux.HandleFunc("GET /v1/record/download/{id}", wayin.RateLimited(gate, a.signedDownload))
}

func (a *Records) list(w http.ResponseWriter, r *http.Request) {
	c, e := administer(r.Context(), a.Gate, r)
	if e != nil {
		restReply(w, e, nil)
		return
	}
	q := r.URL.Query()
	from, to := unixParam(q.Get("from"), time.Time{}), unixParam(q.Get("to"), time.Unix(1<<40, 0))
	files, err := a.Recorder.Files(func(f *record.File) bool {
		return f.SDKAppID == c.App.SDKAppID &&
			(q.Get("recordId") == "" || f.RecordID == q.Get("recordId")) &&
			(q.Get("room") == "" || f.Room == q.Get("room")) &&
			(q.Get("userId") == "" || f.UserID == q.Get("userId")) &&
			!f.Start.Before(from) && !f.Start.After(to)
	})
	if err != nil {
		restReply(w, trtc.Errorf(trtc.RestRecordFailed, "reading the recording index: %v", err), nil)
		return
	}
	out := make([]map[string]any, len(files))
	for i, f := range files {
		out[i] = map[string]any{"file": f}
		if f.State == record.StateDone {
			out[i]["videoUrl"] = a.Recorder.DownloadURL(f)
		}
	}
	restReply(w, nil, map[string]any{"files": out})
}

func unixParam(v string, fallback time.Time) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fallback
	}
	return time.Unix(n, 0)
}

func (a *Records) download(w http.ResponseWriter, r *http.Request) {
	c, e := administer(r.Context(), a.Gate, r)
	if e != nil {
		restReply(w, e, nil)
		return
	}
	a.serveFile(w, r, r.PathValue("id"), c.App.SDKAppID)
}

func (a *Records) signedDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !a.Recorder.VerifyDownload(r.PathValue("id"), q.Get("expires"), q.Get("sign"), time.Now()) {
		w.WriteHeader(http.StatusForbidden)
		restReply(w, trtc.Errorf(trtc.RestRecordFailed, "the download link is invalid or has expired"), nil)
		return
	}
	a.serveFile(w, r, r.PathValue("id"), 0)
}

// serveFile sends a final file with Range support; app 0 skips the app
// check (a signed URL names the file itself).
func (a *Records) serveFile(w http.ResponseWriter, r *http.Request, id string, app uint32) {
	f, file, err := a.Recorder.Open(id)
	if err == nil && app != 0 && f.SDKAppID != app {
		file.Close()
		err = record.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, record.ErrNotFound) {
			w.WriteHeader(http.StatusNotFound)
		}
		restReply(w, trtc.Errorf(trtc.RestRecordFailed, "file %s: %v", id, err), nil)
		return
	}
	defer file.Close()
	ctype := map[string]string{"mp4": "video/mp4", "mp3": "audio/mpeg", "jsonl": "application/x-ndjson"}[f.Format]
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	dw := &perWriteDeadline{ResponseWriter: w, rc: http.NewResponseController(w),
		timeout: a.writeTimeout()}
	http.ServeContent(dw, r, f.Name, f.End, file)
}

func (a *Records) writeTimeout() time.Duration {
	if a.WriteTimeout <= 0 {
		return DefaultDownloadWriteTimeout
	}
	return a.WriteTimeout
}

// perWriteDeadline gives each write of a response its own deadline, in
// place of the connection's deadline for the whole response.
type perWriteDeadline struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *perWriteDeadline) Write(b []byte) (int, error) {
	// A writer that cannot take a deadline (ErrNotSupported) keeps the
	// server's, as before.
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.ResponseWriter.Write(b)
}

func (a *Records) delete(w http.ResponseWriter, r *http.Request) {
	c, e := administer(r.Context(), a.Gate, r)
	if e != nil {
		restReply(w, e, nil)
		return
	}
	id := r.PathValue("id")
	if f, err := a.Recorder.Files(func(f *record.File) bool { return f.ID == id && f.SDKAppID == c.App.SDKAppID }); err != nil || len(f) == 0 {
		restReply(w, trtc.Errorf(trtc.RestRecordFailed, "file %s: %v", id, record.ErrNotFound), nil)
		return
	}
	if err := a.Recorder.Delete(id); err != nil {
		restReply(w, trtc.Errorf(trtc.RestStorageError, "deleting file %s: %v", id, err), nil)
		return
	}
	restReply(w, nil, nil)
}
