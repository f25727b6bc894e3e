package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/live"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// component is one part of the server. open starts it and registers how to
// close it (onClose); Start opens the list in order and, when one fails,
// closes those already open in reverse, as Shutdown does.
type component struct {
	name string
	open func() error
}

// components is the server, in the order it opens: each needs those
// before it.
func (s *Server) components() []component {
	return []component{
		{"rooms", s.openRooms},
		{"media", s.openMedia},
		{"http listener", s.openHTTPListener},
		{"data", s.openData},
		{"recorder", s.openRecorder},
		{"classrooms", s.openClassrooms},
		{"live", s.openLive},
		{"rtmp", s.openRTMP},
		{"routes", s.openRoutes},
		{"https", s.openHTTPS},
		{"cluster", s.openCluster},
	}
}

// openRooms makes the room registry and the gate every way in admits
// through.
func (s *Server) openRooms() error {
	s.rooms = trtc.NewRegistry(s.cfg.RoomCapacity, s.cfg.HeartbeatTimeout)
	s.rooms.ViewersPerUser, s.rooms.ViewersPerRoom = s.cfg.Limits.ViewersPerUser, s.cfg.Limits.ViewersPerRoom
	s.onClose(s.rooms.Close)
	return nil
}

// openMedia starts the SFU; its tracks are announced to the room and, on
// a cluster, to the other nodes. Screen shares are told to the recorder
// too (relayed ones included: a node records the members of the recordIds
// it claims, wherever they publish), which records the sub-stream of the
// members it records.
func (s *Server) openMedia() error {
	s.metrics = sfu.NewMetrics()
	transport := s.cfg.Media
	transport.TCPPerAddress = s.cfg.Limits.ICETCP
	media, err := sfu.New(sfu.Config{Transport: transport, Metrics: s.metrics, Logger: s.log, ConnectTimeout: s.cfg.Limits.ConnectTimeout,
		PublishKbps: s.cfg.Limits.PublishKbps,
		OnTrack: func(room, user string, src sfu.Source, published bool) {
			s.rooms.Streams(room, user, src.String(), published)
			if n := s.cluster.Load(); n != nil {
				n.OnTrack(room, user, src, published)
			}
			if src == sfu.SourceSub && s.rec != nil { // the recorder opens after the media, before anyone publishes
				s.rec.SubStream(room, user, published)
			}
		}})
	if err != nil {
		return err
	}
	s.sfu = media
	s.gate = &trtc.Gate{Apps: s.cfg.Apps, Rooms: s.rooms, Media: media}
	s.onClose(media.Close)
	return nil
}

func (s *Server) openHTTPListener() error {
	ln, err := s.listenHTTP(s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("server: listen http %s: %w", s.cfg.HTTPAddr, err)
	}
	s.httpLn = ln
	s.onClose(func() { ln.Close() })
	return nil
}

// openData opens the data directory's database.
func (s *Server) openData() error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, "trtcd.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("server: open %s (is another trtcd using this data directory?): %w", path, err)
	}
	s.db = db
	s.onClose(func() { db.Close() })
	return nil
}

// openRecorder starts the recorder: it finalises what a crash left, then
// sends the callbacks still owed.
func (s *Server) openRecorder() error {
	c := s.cfg.Record
	public := c.PublicURL
	if public == "" {
		public = "http://" + s.httpLn.Addr().String()
	}
	rec, err := record.New(record.Config{
		Dir: filepath.Join(s.cfg.DataDir, "record"), SFU: s.sfu, PublicURL: public, DB: s.db,
		Callback:     record.CallbackConfig{URL: c.CallbackURL, Key: c.CallbackKey},
		ResumeWindow: c.ResumeWindow, KeepOpus: c.KeepOpus, MinFreeBytes: c.MinFreeBytes, Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.rec = rec
	s.onClose(rec.Close) // finalises recordings in progress
	return nil
}

// openClassrooms loads the classes and their history; a class's messages
// are recorded with its room.
func (s *Server) openClassrooms() error {
	store, err := classroom.OpenStore(s.db)
	if err != nil {
		return err
	}
	s.store = store
	s.onClose(func() { store.Close() })
	if s.classes, err = classroom.Load(s.rooms, store, s.cfg.ClassLimits); err != nil {
		return err
	}
	s.classes.OnGroupMessage = func(roomKey, recordID string, m classroom.Message) { s.rec.ClassMessage(roomKey, recordID, m) }
	return nil
}

// openLive admits RTMP pushers and RTMP/HTTP-FLV players.
func (s *Server) openLive() error {
	s.bframes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trtcd_rtmp_bframe_refusals_total",
		Help: "RTMP pushes ended because their H.264 has B-frames, which WebRTC cannot play.",
	})
	l := s.cfg.Limits
	s.live = &live.Server{Gate: s.gate, SFU: s.sfu, Recorder: recorder{s.rec}, Logger: s.log, OnBFrames: s.bframes.Inc,
		FLVLimits: l.FLV, PublisherWait: l.PublisherWait, Opus: s.cfg.Opus}
	return nil
}

// openRTMP opens the RTMP listener, when configured.
func (s *Server) openRTMP() error {
	if s.cfg.RTMPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.RTMPAddr)
	if err != nil {
		return fmt.Errorf("server: listen rtmp %s: %w", s.cfg.RTMPAddr, err)
	}
	s.rtmpLn = ln
	l := s.cfg.Limits
	s.rtmp = &rtmp.Server{Handler: s.live, Logger: s.log,
		Limits: rtmp.Limits{PerAddress: l.RTMP, MaxConns: l.RTMPTotal, LoginTimeout: l.LoginTimeout, ReadKbps: l.PublishKbps,
			WriteQueueBytes: l.RTMPQueued}}
	go func() {
		// Serve waits out a shortage of descriptors; any other return
		// before Close means no pusher or player is served from now on.
		if err := s.rtmp.Serve(ln); !errors.Is(err, rtmp.ErrClosed) {
			s.log.Error("rtmp: stopped accepting connections", "err", err)
		}
	}()
	s.onClose(func() { s.rtmp.Close() })
	s.log.Info("rtmp listening", "addr", ln.Addr().String())
	return nil
}

// recorder is the recorder as the room core asks for it (trtc.Recorder).
type recorder struct{ *record.Recorder }

func (r recorder) Start(q trtc.RecordRequest) error { return r.Recorder.Start(record.Request(q)) }
