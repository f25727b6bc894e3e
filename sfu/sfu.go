// Package sfu is trtcd's media plane: rooms of participants whose published
// tracks fan out, lock-free, to every sink (WebRTC subscribers, recorders,
// RTMP/FLV players, relays to other nodes). It knows nothing about userSig,
// TRTC error codes or JSON: the control plane decides who may do what and
// calls Publish and Subscribe (WebRTC), or Join, PublishTrack and Follow
// (sources and sinks that are not WebRTC).
//
// The interfaces other packages implement (Sink, Upstream, Estimator,
// Resender) are in interfaces.go. Connected UDP sessions leave pion's
// reader goroutines for the fast path (fastpath*.go): SRTP is decrypted
// and forwarded on the reader of the media socket that receives it (one of
// TransportConfig.Workers, mediaworkers.go), and encrypted straight to a
// socket.
package sfu

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

// Config configures the media plane.
type Config struct {
	Transport TransportConfig
	Metrics   *Metrics // nil: not collected
	Logger    *slog.Logger
	// OnTrack, when set, is told when a member starts (published) or stops
	// publishing a source, for signalling's stream events. It runs
	// on the media plane's goroutines and must not block.
	OnTrack func(room, userID string, src Source, published bool)
	// ConnectTimeout closes a session whose ICE and DTLS have not connected
	// this long after it was made [8s]. Clients connect within a second or
	// two (one port, every candidate offered at once); an offer
	// that never connects would otherwise hold its PeerConnection until
	// pion's ICE gives up (15 s), which makes offer floods cheap.
	ConnectTimeout time.Duration
	// PublishKbps caps each track of a WebRTC publisher, averaged over a
	// second: the excess is dropped (and counted) [DefaultPublishKbps];
	// negative: no cap.
	PublishKbps int
}

// DefaultConnectTimeout is Config.ConnectTimeout's default.
const DefaultConnectTimeout = 8 * time.Second

// SFU is the media plane: rooms, their members and their tracks.
type SFU struct {
	t              *transport
	log            *slog.Logger
	metrics        *Metrics
	onTrack        func(room, userID string, src Source, published bool)
	connectTimeout time.Duration
	publishKbps    int // 0: no cap

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	wg     sync.WaitGroup // session goroutines
}

// New opens the media sockets and starts the media plane.
func New(cfg Config) (*SFU, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError // pion warns about benign races at close
	t, err := newTransport(cfg.Transport, logs)
	if err != nil {
		return nil, err
	}
	s := &SFU{t: t, log: cfg.Logger.With("component", "sfu"), metrics: cfg.Metrics, rooms: map[string]*Room{}, onTrack: cfg.OnTrack,
		connectTimeout: cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout), publishKbps: max(cmp.Or(cfg.PublishKbps, DefaultPublishKbps), 0)}
	if m := cfg.Metrics; m != nil {
		m.AddGauge("trtcd_sfu_rooms", "Rooms with at least one member.", func() float64 { return float64(s.count().rooms) })
		m.AddGauge("trtcd_sfu_participants", "Room members.", func() float64 { return float64(s.count().members) })
		m.AddGauge("trtcd_sfu_tracks", "Published tracks.", func() float64 { return float64(s.count().tracks) })
	}
	tcp := ""
	if t.tcp != nil {
		tcp = t.tcp.Addr().String()
	}
	s.log.Info("media listening", "udp", t.udp.LocalAddr().String(), "workers", len(t.udp.socks), "ice_tcp", tcp)
	return s, nil
}

// MediaBytes are the RTP bytes received from publishers and written to
// subscribers so far (0 without Metrics): a node's load.
func (s *SFU) MediaBytes() uint64 {
	if s.metrics == nil {
		return 0
	}
	t := s.metrics.totals()
	return t[counterBytesReceived] + t[counterBytesForwarded]
}

// UDPAddr is the bound ICE UDP address.
func (s *SFU) UDPAddr() string { return s.t.udp.LocalAddr().String() }

// Close ends every session and frees the sockets.
func (s *SFU) Close() {
	s.mu.Lock()
	s.closed = true
	var sessions []*Session
	for _, r := range s.rooms {
		sessions = append(sessions, r.sessions()...)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.Close()
	}
	s.wg.Wait()
	s.t.close()
}

// HasRoom reports whether a room exists (has members).
func (s *SFU) HasRoom(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.rooms[key]
	return ok
}

// Counts are the sizes of the media plane.
type Counts struct{ rooms, members, tracks int }

func (s *SFU) count() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{rooms: len(s.rooms)}
	for _, r := range s.rooms {
		m, t := r.size()
		c.members += m
		c.tracks += t
	}
	return c
}

// enter puts a session into its room, creating the room on first entry,
// and returns the publishing session it replaces. It is atomic with respect
// to rooms closing and to Close: a session is either in a live room or
// refused.
func (s *SFU) enter(key string, sess *Session) (replaced *Session, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSessionClosed
	}
	r := s.rooms[key]
	if r == nil {
		r = newRoom(s, key)
		s.rooms[key] = r
		s.log.Info("room created", "room", key)
	}
	sess.room = r
	return r.add(sess), nil
}

// spawn runs f on a goroutine that Close waits for; after Close it does
// nothing and reports false.
func (s *SFU) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// dropRoomIfEmpty closes a room whose last member left.
func (s *SFU) dropRoomIfEmpty(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.empty() && s.rooms[r.key] == r {
		delete(s.rooms, r.key)
		s.log.Info("room closed", "room", r.key)
	}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
