package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/rtmp/flv"
)

// The good rooms' kinds, in the order the report lists them.
const (
	soakWHIP = "whip"
	soakWS   = "ws"
	soakRTMP = "rtmp"
)

var soakKinds = []struct{ kind, label, unit string }{
	{soakWHIP, "WHIP publish, WHEP play", "packets"},
	{soakWS, "/ws publish and subscribe", "packets"},
	{soakRTMP, "RTMP push (ffmpeg), HTTP-FLV play", "frames"},
}

// soakRoom is one good room as the soak measures it.
type soakRoom struct {
	kind string
	name string
	// count is what arrived and what should have (cumulative); the soak
	// takes the difference over the attack and the recovery.
	count func() (received, expected uint64)
	// progress grows while media arrives at every viewer of the room (it
	// is the least any of them got): a viewer whose publisher or stream is
	// gone loses nothing by sequence numbers or timestamps, but stops it.
	progress func() int64
	close    func()
	pid      int // the room's own process (ffmpeg), if any
	// problem, when set, says what went wrong with the room's clients
	// (an ffmpeg that exited, a player that had to reconnect).
	problem func() string
}

// splitRooms divides n good rooms as 10 WHIP : 6 /ws : 4 RTMP, with one of
// each at least.
func splitRooms(n int) (whip, ws, rtmp int) {
	rtmp, ws = max(1, n/5), max(1, n*3/10)
	return n - ws - rtmp, ws, rtmp
}

// soakRoomBase numbers the good rooms; hostile clients use rooms from
// soakAttackRooms on, so nothing they do is in a good room.
const soakRoomBase = 100000

// startGoodRooms starts every good room from 127.0.0.1, one at a time,
// each with media flowing before the next starts.
func startGoodRooms(ctx context.Context, srv *soakServer, cfg soakConfig) ([]*soakRoom, error) {
	whip, ws, rtmp := splitRooms(cfg.Rooms)
	sc := Scenario{Target: srv.target(), Viewers: 1, BitrateKbps: cfg.Kbps, FPS: cfg.FPS, Mix: Mix{KindWHIP: whip, KindWS: ws}}
	var rooms []*soakRoom
	for i := range whip + ws {
		pairs, err := startRoom(ctx, sc, i)
		if len(pairs) > 0 {
			rooms = append(rooms, webrtcRoom(pairs))
		}
		if err != nil {
			return rooms, err
		}
	}
	for i := range rtmp {
		r, err := startFFmpegRoom(ctx, srv, fmt.Sprint(soakRoomBase+whip+ws+i), cfg)
		if r != nil {
			rooms = append(rooms, r)
		}
		if err != nil {
			return rooms, err
		}
	}
	return rooms, nil
}

// roomPIDs are the good rooms' own processes.
func roomPIDs(rooms []*soakRoom) (pids []int) {
	for _, r := range rooms {
		if r.pid != 0 {
			pids = append(pids, r.pid)
		}
	}
	return pids
}

// webrtcRoom measures a room of the bench's WebRTC pairs: RTP sequence
// numbers at the viewers.
func webrtcRoom(pairs []*Pair) *soakRoom {
	return &soakRoom{kind: string(pairs[0].Kind), name: pairs[0].room,
		count: func() (uint64, uint64) {
			t := totalsOf(pairs, "")
			return t.Received, t.Expected
		},
		progress: func() int64 {
			n := make([]int64, len(pairs))
			for i, p := range pairs {
				n[i] = p.Received.Load()
			}
			return slices.Min(n)
		},
		close: func() {
			for _, p := range pairs {
				p.Close()
			}
		},
		problem: func() string { return "" },
	}
}

// soakFLVPlayers is how many HTTP-FLV players watch each RTMP room.
const soakFLVPlayers = 2

// startFFmpegRoom pushes a live encode with ffmpeg (test pattern and a
// tone; H.264 baseline without B-frames, AAC, as live-pusher sends) and
// plays it to soakFLVPlayers HTTP-FLV players, each its own viewer.
func startFFmpegRoom(ctx context.Context, srv *soakServer, room string, cfg soakConfig) (*soakRoom, error) {
	pusher := "pusher-" + room
	stream := fmt.Sprintf("%d_%s_%s_main", benchApp, room, pusher)
	sig, _ := benchAuth(room, pusher)
	// -t bounds the push by itself, should the soak be killed.
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x240:rate=%d", cfg.FPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(int(cfg.total().Seconds())), "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline", "-bf", "0",
		"-g", strconv.Itoa(2*cfg.FPS), "-b:v", fmt.Sprintf("%dk", cfg.Kbps), "-c:a", "aac", "-b:a", "64k",
		"-f", "flv", fmt.Sprintf("rtmp://%s/live/%s?usersig=%s", srv.rtmp, stream, url.QueryEscape(sig)))
	stderr := &tailBuffer{max: 2048}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("room %s: ffmpeg: %w", room, err)
	}
	var exited atomic.Bool
	go func() { cmd.Wait(); exited.Store(true) }()
	pctx, cancel := context.WithCancel(context.Background())
	players := make([]*flvPlayer, soakFLVPlayers)
	r := &soakRoom{kind: soakRTMP, name: room, pid: cmd.Process.Pid,
		close: func() { cancel(); cmd.Process.Kill() },
		count: func() (received, expected uint64) {
			for _, p := range players {
				r, e := p.frames()
				received, expected = received+r, expected+e
			}
			return received, expected
		},
		progress: func() int64 {
			n := make([]int64, len(players))
			for i, p := range players {
				n[i] = p.tags.Load()
			}
			return slices.Min(n)
		},
		problem: func() string { return ffmpegProblem(&exited, stderr, players) },
	}
	for i := range players {
		viewer := fmt.Sprintf("flv-%s-%d", room, i)
		vsig, _ := benchAuth(room, viewer)
		players[i] = &flvPlayer{first: make(chan struct{})}
		u := fmt.Sprintf("%s/live/%s.flv?userId=%s&usersig=%s", srv.url, stream, viewer, url.QueryEscape(vsig))
		go players[i].run(pctx, u)
	}
	for _, p := range players {
		select {
		case <-p.first:
		case <-time.After(20 * time.Second):
			return r, fmt.Errorf("room %s: an HTTP-FLV player got no tag in 20 s; ffmpeg says: %s", room, stderr)
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	return r, nil
}

func ffmpegProblem(exited *atomic.Bool, stderr *tailBuffer, players []*flvPlayer) string {
	if exited.Load() {
		return fmt.Sprintf("ffmpeg exited: %s", stderr)
	}
	drops := 0
	for _, p := range players {
		drops += int(p.drops.Load())
	}
	if drops > 0 {
		return fmt.Sprintf("HTTP-FLV players reconnected %d times", drops)
	}
	return ""
}

// flvPlayer reads an HTTP-FLV stream and keeps every media tag's
// timestamp: frames received and missing follow from them (framesIn).
type flvPlayer struct {
	mu           sync.Mutex
	video, audio []uint32
	tags         atomic.Int64
	drops        atomic.Int64 // the stream ended and was played again
	first        chan struct{}
	once         sync.Once
}

// soakFLVClient plays from 127.0.0.1 with no overall timeout (a stream
// lasts the soak); each read is bounded by the stream's own pace.
var soakFLVClient = &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Second}}

// run plays url until ctx ends, playing again (at most 20 times) when the
// stream ends or before the publisher's media is there.
func (p *flvPlayer) run(ctx context.Context, u string) {
	for try := 0; try < 20 && ctx.Err() == nil; try++ {
		p.play(ctx, u) // how it ended matters less than that it did: counted as a drop
		if ctx.Err() != nil {
			return
		}
		if p.tags.Load() > 0 {
			p.drops.Add(1)
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

func (p *flvPlayer) play(ctx context.Context, u string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := soakFLVClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if _, _, err := flv.ReadHeader(resp.Body); err != nil {
		return err
	}
	for {
		t, err := flv.ReadTag(resp.Body, 4<<20)
		if err != nil {
			return err
		}
		p.add(t)
	}
}

// add keeps a media frame's timestamp; sequence headers and script tags
// are not frames.
func (p *flvPlayer) add(t flv.Tag) {
	if len(t.Data) < 2 || t.Data[1] != 1 { // AVCNALU / AAC raw
		return
	}
	p.mu.Lock()
	switch t.Type {
	case flv.TagVideo:
		p.video = append(p.video, t.Timestamp)
	case flv.TagAudio:
		p.audio = append(p.audio, t.Timestamp)
	}
	p.mu.Unlock()
	p.tags.Add(1)
	p.once.Do(func() { close(p.first) })
}

// frames is what the player got of both kinds, and what it should have.
func (p *flvPlayer) frames() (received, expected uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vr, ve := framesIn(p.video)
	ar, ae := framesIn(p.audio)
	return vr + ar, ve + ae
}

// framesIn counts the frames in a stream's timestamps and those that
// should be there: timestamps step by the frame interval (the median
// step), so a step of k intervals means k-1 frames missing. A step back, or
// of more than 10 s, is a new publish, not a loss.
func framesIn(ts []uint32) (received, expected uint64) {
	received, expected = uint64(len(ts)), uint64(len(ts))
	var steps []int64
	for i := 1; i < len(ts); i++ {
		if d := int64(ts[i]) - int64(ts[i-1]); d > 0 {
			steps = append(steps, d)
		}
	}
	if len(steps) == 0 {
		return received, expected
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	interval := steps[len(steps)/2]
	for i := 1; i < len(ts); i++ {
		d := int64(ts[i]) - int64(ts[i-1])
		if d <= 0 || d > 10000 {
			continue
		}
		if k := (d + interval/2) / interval; k > 1 {
			expected += uint64(k - 1)
		}
	}
	return received, expected
}

// stallWatch notes each good room's longest time without media.
type stallWatch struct {
	mu      sync.Mutex
	rooms   []*soakRoom
	last    []int64
	changed []time.Time
	longest []time.Duration
}

func newStallWatch(rooms []*soakRoom) *stallWatch {
	w := &stallWatch{rooms: rooms, last: make([]int64, len(rooms)), changed: make([]time.Time, len(rooms)),
		longest: make([]time.Duration, len(rooms))}
	w.reset()
	return w
}

// reset starts over: gaps before the attack are the rooms' start.
func (w *stallWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for i, r := range w.rooms {
		w.last[i], w.changed[i], w.longest[i] = r.progress(), now, 0
	}
}

// run looks every 250 ms until ctx ends.
func (w *stallWatch) run(ctx context.Context) {
	for sleepCtx(ctx, 250*time.Millisecond) {
		w.mu.Lock()
		now := time.Now()
		for i, r := range w.rooms {
			if p := r.progress(); p != w.last[i] {
				w.last[i], w.changed[i] = p, now
			}
			w.longest[i] = max(w.longest[i], now.Sub(w.changed[i]))
		}
		w.mu.Unlock()
	}
}

// longestOf is room i's longest gap since reset, the one still open
// included.
func (w *stallWatch) longestOf(i int) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.longest[i], time.Since(w.changed[i]))
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tailBuffer keeps the last max bytes written: a child's stderr for a
// report, bounded however much it writes.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := bytes.TrimSpace(t.b); len(s) > 0 {
		return string(s)
	}
	return "(nothing)"
}
