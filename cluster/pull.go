package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
)

// The near side of the relay: a node with an audience for a publisher on
// another node publishes that publisher's tracks locally, as a session
// with the publisher's user id, fed from relay streams.

// pull relays one remote user's tracks into the local room.
type pull struct {
	n          *Node
	room, user string
	node       string // the publisher's node
	sess       *sfu.Session
	started    time.Time
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	stats      relayStats // of every kind

	mu     sync.Mutex
	kinds  map[sfu.Source]context.CancelFunc // the kinds relayed now
	tracks map[sfu.Source]*sfu.Track
}

// retryDelay paces reconnecting a relay stream that failed.
const retryDelay = 500 * time.Millisecond

// estimateInterval is how often the viewers' lowest estimate goes to the
// publisher's node: as often as a publisher is told its cap.
const estimateInterval = time.Second

func (n *Node) startPull(room, user, node string, kinds []sfu.Source) (*pull, error) {
	// The session declares audio and the main video, as a WebRTC
	// publisher that negotiated both does: a viewer that subscribes while
	// one is still on its way waits for it briefly instead of missing it.
	// The small stream and the sub-stream are relayed too when published
	// (kinds), but nobody waits for them.
	sess, err := n.cfg.SFU.Join(room, user, sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		return nil, fmt.Errorf("cluster: join %s as %s: %w", room, user, err)
	}
	ctx, cancel := context.WithCancel(n.ctx)
	p := &pull{n: n, room: room, user: user, node: node, sess: sess, started: time.Now(), ctx: ctx,
		cancel: cancel, kinds: map[sfu.Source]context.CancelFunc{}, tracks: map[sfu.Source]*sfu.Track{}}
	p.setKinds(kinds)
	go func() { // the local session ended (replaced by a real publish)
		select {
		case <-sess.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	return p, nil
}

// setKinds starts and stops the per-kind relay streams to match kinds.
func (p *pull) setKinds(kinds []sfu.Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, stop := range p.kinds {
		if !slices.Contains(kinds, k) {
			stop()
			delete(p.kinds, k)
		}
	}
	for _, k := range kinds {
		if p.kinds[k] != nil {
			continue
		}
		ctx, stop := context.WithCancel(p.ctx)
		p.kinds[k] = stop
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(ctx, k)
		}()
	}
}

// ready reports whether every relayed kind has its track published here.
func (p *pull) ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tracks) == len(p.kinds)
}

// watched reports whether anything local follows the relayed tracks.
func (p *pull) watched() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		if len(t.Sinks()) > 0 {
			return true
		}
	}
	return false
}

func (p *pull) stop() {
	p.cancel()
	p.wg.Wait()
	p.sess.Close()
}

// run keeps one kind relayed until ctx ends, reconnecting after failures.
func (p *pull) run(ctx context.Context, kind sfu.Source) {
	for ctx.Err() == nil {
		err := p.relayOnce(ctx, kind)
		if ctx.Err() != nil {
			return
		}
		p.n.log.Debug("relay stream ended", "room", p.room, "user", p.user, "kind", kind, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay):
		}
	}
}

// relayOnce is relay, with a panic (a bug the far side's bytes reach)
// counted, logged and turned into an error: the stream is set up again,
// and the node's other relays never notice.
func (p *pull) relayOnce(ctx context.Context, kind sfu.Source) (err error) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Relay, v, p.n.log)
			err = fmt.Errorf("cluster: relay stream panicked: %v", v)
		}
	}()
	return p.relay(ctx, kind)
}

// upstream carries a relayed track's keyframe requests back to the far side.
type upstream struct{ want chan struct{} }

func (u upstream) RequestKeyframe(uint32) {
	select {
	case u.want <- struct{}{}:
	default: // one is pending already
	}
}

func (p *pull) relay(ctx context.Context, kind sfu.Source) error {
	info, ok, err := p.n.dir.Node(ctx, p.node)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("cluster: node %s is gone", p.node)
	}
	c, err := p.n.peerConn(ctx, p.node, info.Relay)
	if err != nil {
		return err
	}
	st, err := c.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { st.CancelRead(0); st.CancelWrite(0) })
	defer stop()
	defer st.CancelRead(0)
	defer st.Close()
	d := p.n.demuxOf(c)
	h := hello{Room: p.room, User: p.user, Kind: kind.String(), Sealed: d.sealed != nil}
	if err := writeLine(st, h); err != nil {
		return err
	}
	r := bufio.NewReaderSize(st, 64<<10)
	var a answer
	if err := readLine(r, &a); err != nil {
		return err
	}
	if a.Error != "" {
		return errors.New(a.Error)
	}
	up := upstream{want: make(chan struct{}, 1)}
	t, err := p.sess.PublishTrack(fmt.Sprintf("relay-%s-%s", p.user, kind), kind, codecOf(a), up)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.tracks[kind] = t
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.tracks, kind)
		p.mu.Unlock()
		p.sess.Unpublish(t)
	}()
	in := newRelayIn(t, &p.stats, p.n.relayTotals)
	d.add(a.Stream, in)
	defer d.remove(a.Stream) // before Unpublish: no datagram reaches a closed track
	if _, err := st.Write([]byte{feedbackStart}); err != nil {
		return err
	}
	fbDone := make(chan struct{})
	defer func() { <-fbDone }()
	fbCtx, fbCancel := context.WithCancel(ctx)
	defer fbCancel()
	go func() { // the only writer on st from here on
		defer close(fbDone)
		defer func() {
			if v := recover(); v != nil {
				panics.Report(panics.Relay, v, p.n.log)
				st.CancelRead(0) // ends the stream, which is set up again
			}
		}()
		var b [1 + nackSize]byte
		estimates := time.NewTicker(estimateInterval)
		defer estimates.Stop()
		for {
			var err error
			select {
			case <-fbCtx.Done():
				return
			case <-estimates.C:
				if e := t.Estimate(); e > 0 {
					b[0] = feedbackBitrate
					binary.BigEndian.PutUint32(b[1:5], uint32(min(e/1000, math.MaxUint32)))
					_, err = st.Write(b[:5])
				}
			case <-up.want:
				b[0] = feedbackKeyframe
				_, err = st.Write(b[:1])
			case k := <-in.nacks:
				b[0] = feedbackNACK
				k.put(b[1:])
				_, err = st.Write(b[:])
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, sfu.MaxPacketSize)
	for { // resends and packets too large for a datagram
		n, err := readPacket(r, buf)
		if err != nil {
			return err
		}
		in.write(buf[:n], countStream)
	}
}
