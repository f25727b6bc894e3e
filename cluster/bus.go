package cluster

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The bus carries messages between nodes (room events: package trtc's
// RemoteEvent) over Redis pub/sub on one channel. Each node publishes from
// one goroutine, so its messages arrive in the order sent; Redis delivers at
// most once, and nothing while it is down, so what is sent must be
// repairable by a later message (the room core sends whole rosters too).

// eventsChannel is the bus's Redis channel (under the directory's prefix).
const eventsChannel = "events"

// busQueue bounds the messages waiting for Redis; beyond it Send drops.
const busQueue = 4096

// Bus is this node's end of the cluster's message channel.
type Bus struct {
	out     chan []byte
	sentAt  atomic.Int64 // unix nanoseconds of the last publish Redis took
	upSince atomic.Int64 // since when every publish has succeeded (0: the last failed)
}

// Publish sends msg to every node subscribed.
func (d *Directory) Publish(ctx context.Context, msg []byte) error {
	return wrap(d.rdb.Publish(ctx, d.key(eventsChannel), msg).Err())
}

// StartBus subscribes to the bus; receive gets every message published by
// any node (this one's too) and classes every ClassEvent, on one goroutine
// (in the order Redis took them), until the node stops.
func (n *Node) StartBus(receive func(msg []byte), classes func(ClassEvent)) *Bus {
	b := &Bus{out: make(chan []byte, busQueue)}
	b.upSince.Store(time.Now().UnixNano())
	events := n.dir.key(eventsChannel)
	// One subscription for both channels: one connection, one order.
	ps := n.dir.rdb.Subscribe(n.ctx, events, n.dir.key(classesChannel)) // re-subscribes after a lost connection
	in := ps.Channel()
	n.spawn(func() {
		defer ps.Close()
		for {
			select {
			case <-n.ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				if m.Channel == events {
					receive([]byte(m.Payload))
				} else if ev, ok := parseClassEvent(m.Payload); ok {
					classes(ev)
				}
			}
		}
	})
	n.spawn(func() {
		for {
			select {
			case <-n.ctx.Done():
				return
			case msg := <-b.out:
				ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Heartbeat)
				if err := n.dir.Publish(ctx, msg); err == nil {
					now := time.Now().UnixNano()
					b.sentAt.Store(now)
					b.upSince.CompareAndSwap(0, now)
				} else {
					b.upSince.Store(0)
					n.log.Debug("bus message lost", "err", err)
				}
				cancel()
			}
		}
	})
	return b
}

// Send queues msg for every node; false when the queue is full (Redis is
// slow or gone) and msg was dropped.
func (b *Bus) Send(msg []byte) bool {
	select {
	case b.out <- msg:
		return true
	default:
		return false
	}
}

// Steady is whether every message this node sent for the last d reached
// Redis, the latest within fresh: only then may it conclude that nodes it
// has not heard from are gone (a node cut off from the bus, or just back,
// has not been hearing them).
func (b *Bus) Steady(d, fresh time.Duration) bool {
	up := b.upSince.Load()
	return up != 0 && time.Since(time.Unix(0, up)) >= d && time.Since(time.Unix(0, b.sentAt.Load())) < fresh
}

// Every runs f every d until the node stops.
func (n *Node) Every(d time.Duration, f func()) {
	n.spawn(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	})
}

// Timing is how often the node renews its directory entries and how long
// they outlive it.
func (n *Node) Timing() (heartbeat, ttl time.Duration) { return n.cfg.Heartbeat, n.cfg.TTL }

// go-redis logs every failed dial of its pool, many a second while Redis
// is down; the node says once that the directory is unreachable (run).
func init() { redis.SetLogger(quietRedis{}) }

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
