package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// Engines generate the load: pion runs a full pion WebRTC client per
// publisher and viewer; raw lets pion connect each session (signalling,
// ICE, DTLS) and then sends and receives the media itself, cheaply enough
// that the server, not the generator, runs out of CPU first.
const (
	EnginePion = "pion"
	EngineRaw  = "raw"
)

// ErrRawUnsupported refuses what the raw engine does not do.
var ErrRawUnsupported = errors.New("bench: not supported by the raw engine")

// withEngine starts the scenario's engine; stop ends it after the pairs
// are closed.
func (sc Scenario) withEngine() (_ Scenario, stop func(), err error) {
	switch sc.Engine {
	case "", EnginePion:
		return sc, func() {}, nil
	case EngineRaw:
		if sc.UplinkLoss > 0 {
			return sc, nil, fmt.Errorf("%w: --loss", ErrRawUnsupported)
		}
		if sc.raw, err = newRawEngine(sc.BitrateKbps, sc.FPS); err != nil {
			return sc, nil, err
		}
		return sc, sc.raw.Close, nil
	}
	return sc, nil, fmt.Errorf("bench: unknown engine %q (want %s or %s)", sc.Engine, EnginePion, EngineRaw)
}

// rawEngine sends and receives every raw session's media from one
// goroutine that wakes on a timer: each tick it reads whatever arrived on
// all the sessions' sockets (recvmmsg, the kernel's receive times for the
// latency), then sends each publisher's due frames with one sendmmsg. Its
// cost is the packets' own (encryption, system calls) plus 1/rawTick
// wake-ups a second, however many sessions and packets: a goroutine woken
// per datagram would cost more than the datagram. Measured on a 2-core VM
// with 40 one-way rooms at 700 kbps (about 5,300 packets/s each way): 10 to
// 12 µs of CPU per packet sent or received, against 40 to 45 µs for the
// pion engine, while trtcd spent 24 to 28 µs per forwarded packet; most of
// the rest is the kernel's loopback send, which the sender pays for the
// receiving socket too.
type rawEngine struct {
	frames *rawFrames
	poller *rawudp.Poller
	gso    bool
	mu     sync.Mutex
	pubs   []*rawPublisher
	stop   chan struct{}
	done   chan struct{}
}

// rawTick is how often the sender looks for due frames: a quarter of an
// Opus frame, so a packet leaves at most 5 ms late, and the generator
// wakes 200 times a second whatever the load.
const rawTick = 5 * time.Millisecond

func newRawEngine(bitrateKbps, fps int) (*rawEngine, error) {
	poller, err := rawudp.NewPoller()
	if err != nil {
		return nil, err
	}
	e := &rawEngine{frames: newRawFrames(bitrateKbps, fps), poller: poller, gso: rawudp.SupportsGSO(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go e.run()
	return e, nil
}

func (e *rawEngine) run() {
	defer close(e.done)
	tick := time.NewTicker(rawTick)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-tick.C:
			e.poller.Poll()
			e.mu.Lock()
			pubs := e.pubs // add and remove replace the slice, never change it
			e.mu.Unlock()
			for _, p := range pubs {
				if !p.closed.Load() {
					p.sendDue(now)
				}
			}
		}
	}
}

func (e *rawEngine) add(p *rawPublisher) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pubs = append(slices.Clip(e.pubs), p)
}

func (e *rawEngine) remove(p *rawPublisher) {
	p.closed.Store(true)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pubs = slices.DeleteFunc(slices.Clone(e.pubs), func(q *rawPublisher) bool { return q == p })
}

// Close stops the engine, once the pairs have closed their sessions.
func (e *rawEngine) Close() {
	close(e.stop)
	<-e.done
	e.poller.Close()
}

// startRawPair runs a raw publisher and its raw viewers through the
// spec's signalling (WHIP/WHEP or /ws).
func startRawPair(ctx context.Context, e *rawEngine, s pairSpec) (*Pair, error) {
	p := newPair(s)
	p.latency.values = make([]float64, 0, p.latency.cap) // no growth on the receive path
	pub, err := startRawPublisher(ctx, e, s.Publish, &p.sent)
	if err != nil {
		return nil, err
	}
	p.pub = pub.pc
	p.closers = append(p.closers, pub.Close)
	e.add(pub)
	p.cancel = func() { e.remove(pub) }
	for _, name := range s.Viewers {
		v, err := startRawViewer(ctx, e, p, s.Play(name))
		if err != nil {
			p.Close()
			return nil, err
		}
		p.viewers = append(p.viewers, v.pc)
		p.closers = append(p.closers, v.Close)
	}
	return p, nil
}
