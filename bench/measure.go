package bench

import (
	"context"
	"fmt"
	"time"
)

// Forwarding is what a forwarding run measured.
type Forwarding struct {
	Target    string
	Rooms     int
	Viewers   int // per room
	Duration  time.Duration
	Packets   int64         // RTP packets delivered to viewers
	ServerCPU time.Duration // user+system CPU of the server process
}

// PerPacket is the server's CPU time per delivered packet.
func (f Forwarding) PerPacket() time.Duration {
	if f.Packets == 0 {
		return 0
	}
	return f.ServerCPU / time.Duration(f.Packets)
}

func (f Forwarding) String() string {
	return fmt.Sprintf("%s: %d rooms × %d viewers, %d packets in %s, server CPU %s = %.2f µs/packet",
		f.Target, f.Rooms, f.Viewers, f.Packets, f.Duration.Round(time.Millisecond), f.ServerCPU.Round(time.Millisecond),
		float64(f.PerPacket().Nanoseconds())/1e3)
}

// MeasureForwarding runs rooms rooms of one publisher and viewers viewers
// against t, waits warmup, then measures for d.
func MeasureForwarding(ctx context.Context, t Target, rooms, viewers, bitrateKbps, fps int, warmup, d time.Duration) (Forwarding, error) {
	var pairs []*Pair
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
	}()
	for i := range rooms {
		room := fmt.Sprint(1000 + i)
		p, err := StartPair(ctx, t, room, "pub-"+room, "viewer-"+room, bitrateKbps, fps, viewers)
		if err != nil {
			return Forwarding{}, fmt.Errorf("%s room %d: %w", t.Name, i, err)
		}
		pairs = append(pairs, p)
	}
	time.Sleep(warmup)
	received := func() (n int64) {
		for _, p := range pairs {
			n += p.Received.Load()
		}
		return n
	}
	cpu0, err := ProcessCPU(t.PID)
	if err != nil {
		return Forwarding{}, err
	}
	n0, start := received(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return Forwarding{}, ctx.Err()
	}
	cpu1, err := ProcessCPU(t.PID)
	if err != nil {
		return Forwarding{}, err
	}
	return Forwarding{Target: t.Name, Rooms: rooms, Viewers: viewers, Duration: time.Since(start), Packets: received() - n0, ServerCPU: cpu1 - cpu0}, nil
}
