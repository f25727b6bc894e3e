package sfu

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/panics"
)

// fastPublisher decrypts one publisher's SRTP on the reader goroutine of
// the socket its address hashes to, and forwards it. Only one goroutine at
// a time uses ctx, hdr and the tracks' forwarding: the one that set busy.
type fastPublisher struct {
	ctx    *srtp.Context
	hdr    rtp.Header
	mu     sync.Mutex // serialises changes to tracks
	tracks atomic.Pointer[map[uint32]*fastTrack]
	busy   atomic.Int32 // 1 while a packet is being handled (for giveBack)
	// screen bounds what the session hands to pion: the SSRCs the fast
	// path does not know, RTCP and DTLS.
	*screen
}

// maxUnknownSSRCs bounds the streams of a publisher that the fast path
// does not know and hands to pion: its sections' repair (RTX) streams, and
// a track restarted under a new SSRC until pion announces it. pion holds
// up to 1 MB for each while it works out where it belongs; a client
// sending under ever new SSRCs would grow that without end. Past the bound
// they are dropped.
const maxUnknownSSRCs = 16

// fastTrack is a track on the fast path and the SRTP rollover counter its
// decryption continues from (pion may have seen the numbers wrap).
type fastTrack struct {
	t      *Track
	roc    uint32
	rocSet bool // the handling goroutine only
}

func (f *fastPublisher) handle(b []byte, ob *outbox) (handled bool) {
	if !f.busy.CompareAndSwap(0, 1) {
		// Another worker is handling one: the session's address moved to
		// a socket on another worker a moment ago (pairChanged). This
		// packet is dropped, and NACKed as any lost packet.
		return true
	}
	defer f.done(&handled)
	ssrc := rtpSSRC(b)
	ft := (*f.tracks.Load())[ssrc]
	if ft == nil {
		return !f.toPion(ssrc) // a stream pion has not announced yet, or one too many (screen)
	}
	t := ft.t
	t.forwardLate()
	slot := t.cache.slot()
	out, err := f.decrypt(ft, ssrc, slot.Buffer()[:0], b)
	if err != nil {
		slot.n = 0 // the slot may be half overwritten: no NACK may find it
		t.stats.dropped[dropMalformed].Add(1)
		return true
	}
	t.forward(len(out), monotonic(), ob)
	return true
}

// decrypt opens b into dst. Until a packet of the track has opened, its
// rollover counter is not sure: the track counted the wraps it saw, but
// packets pion's reader held at the take-over are dropped unseen, and the
// publisher's numbers may have wrapped among them. So the next count is
// tried too, and only a packet that authenticates settles it (a forged
// one cannot).
func (f *fastPublisher) decrypt(ft *fastTrack, ssrc uint32, dst, b []byte) ([]byte, error) {
	if ft.rocSet { // on this goroutine: the context is not safe for concurrent use
		return f.ctx.DecryptRTP(dst, b, &f.hdr)
	}
	var err error
	for _, roc := range [...]uint32{ft.roc, ft.roc + 1} {
		f.ctx.SetROC(ssrc, roc)
		var out []byte
		if out, err = f.ctx.DecryptRTP(dst, b, &f.hdr); err == nil {
			ft.rocSet = true
			return out, nil
		}
	}
	return nil, err
}

// done ends handle. It is the last line of defence of the media socket's
// reader, which every fast-path publisher shares: a panic while handling a
// packet drops the packet (counted, logged), not the reader and every
// call on the node.
func (f *fastPublisher) done(handled *bool) {
	f.busy.Add(-1)
	if v := recover(); v != nil {
		*handled = true // pion must not get a packet half handled
		panics.Report(panics.Media, v, nil)
	}
}

// add routes a track's SSRC to it (the track is already handed over).
func (f *fastPublisher) add(ssrc uint32, t *Track, roc uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := maps.Clone(*f.tracks.Load())
	next[ssrc] = &fastTrack{t: t, roc: roc}
	f.tracks.Store(&next)
}
