package live

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/trtc"
)

// flvWriteTimeout: a player that cannot take a tag for this long is gone
// (or too slow to watch live) and is dropped.
const flvWriteTimeout = 10 * time.Second

// Register adds the HTTP-FLV route: GET /live/{streamId}.flv.
func (s *Server) Register(mux *http.ServeMux) {
	players := limit.NewGate(s.FLVLimits.Or(wayin.DefaultAddressLimits))
	mux.HandleFunc("GET /live/{file}", wayin.ConnectionLimited(players, s.serveFLV))
}

// serveFLV plays a stream over HTTP. The response starts with the first
// tag, so that a stream that never comes gets a status and a code (404, 82)
// rather than an empty 200.
func (s *Server) serveFLV(rw http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.FLV, v, s.logger())
			panic(http.ErrAbortHandler) // the player sees its response cut off, not an empty 200
		}
	}()
	name, ok := strings.CutSuffix(r.PathValue("file"), ".flv")
	if !ok {
		wayin.WriteError(rw, trtc.Errorf(trtc.CodeParamCheckFailed, "HTTP-FLV URLs end in .flv").WithHTTPStatus(http.StatusNotFound))
		return
	}
	v, e := s.admitPlayer(r.Context(), name, r.URL.Query())
	if e != nil {
		wayin.WriteError(rw, e)
		return
	}
	defer v.close()
	rc := http.NewResponseController(rw)
	w := &httpFLV{rc: rc, w: rw, audio: !v.cfg.NoAudio, video: !v.cfg.NoVideo}
	started, err := s.play(r.Context(), v, w)
	var absent *trtc.Error
	if !started && errors.As(err, &absent) {
		rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
		wayin.WriteError(rw, absent)
		return
	}
	if err != nil {
		s.logger().Debug("http-flv player left", "room", v.room, "err", err)
	}
}

// httpFLV writes an FLV stream to an HTTP response, each tag flushed at
// once (players want it live) under its own write deadline (the server's
// WriteTimeout would end every stream after 30 s). The FLV header goes out
// with the first tag.
type httpFLV struct {
	rc           *http.ResponseController
	w            http.ResponseWriter
	audio, video bool
	started      bool
	buf          []byte
}

func (h *httpFLV) start() error {
	h.started = true
	h.w.Header().Set("Content-Type", "video/x-flv")
	h.w.Header().Set("Cache-Control", "no-store")
	h.w.Header().Set("Access-Control-Allow-Origin", "*")
	return flv.WriteHeader(h.w, h.audio, h.video)
}

func (h *httpFLV) WriteTag(t flv.Tag) error {
	var err error
	if h.buf, err = flv.AppendTag(h.buf[:0], t); err != nil {
		return err
	}
	h.rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
	if !h.started {
		if err := h.start(); err != nil {
			return err
		}
	}
	if _, err := h.w.Write(h.buf); err != nil {
		return err
	}
	return h.rc.Flush()
}
