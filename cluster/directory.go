package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Directory is the cluster's shared state in Redis. All keys sit under
// Prefix. Lists (nodes, rooms, a room's nodes and publications) are sorted
// sets scored with each member's expiry time in Unix milliseconds: readers
// ignore expired members, and the set itself has a TTL, so nothing outlives
// the node that wrote it by more than TTL.
type Directory struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// NodeInfo is a node as the directory shows it.
type NodeInfo struct {
	ID      string  `json:"id"`
	Relay   string  `json:"relay"`           // QUIC relay address
	Media   string  `json:"media,omitempty"` // public WebRTC UDP address
	HTTP    string  `json:"http,omitempty"`  // signalling base address
	HTTPS   string  `json:"https,omitempty"` // the same over TLS (the Web SDK's), if any
	Rooms   int     `json:"rooms"`
	Streams int     `json:"streams"`
	CPU     float64 `json:"cpu"`     // cores the process used over the last heartbeat
	Bitrate uint64  `json:"bitrate"` // media bits/s received and forwarded over the last heartbeat
	Updated int64   `json:"updated"` // Unix milliseconds of the heartbeat
}

// Publication is one kind of track a user publishes on a node.
type Publication struct {
	Room, User, Kind, Node string
}

// ErrNoDirectory wraps Redis failures: the directory is unreachable.
var ErrNoDirectory = errors.New("cluster: directory unreachable")

// NewDirectory connects to Redis at url (redis://host:port/db). ttl is how
// long an entry lives without a heartbeat.
func NewDirectory(url string, ttl time.Duration) (*Directory, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis url: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, time.Second, time.Second
	return &Directory{rdb: redis.NewClient(opt), prefix: "trtcd:", ttl: ttl}, nil
}

// Close closes the Redis client.
func (d *Directory) Close() error { return d.rdb.Close() }

// TTL is how long an entry lives without renewal.
func (d *Directory) TTL() time.Duration { return d.ttl }

// Ping checks that Redis answers.
func (d *Directory) Ping(ctx context.Context) error { return wrap(d.rdb.Ping(ctx).Err()) }

func wrap(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrNoDirectory, err)
}

func (d *Directory) key(parts ...string) string { return d.prefix + strings.Join(parts, ":") }

func (d *Directory) expiry() float64 { return float64(time.Now().Add(d.ttl).UnixMilli()) }

func nowScore() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

// addLive adds members to a sorted set of live entries and renews the set.
func (d *Directory) addLive(p redis.Pipeliner, ctx context.Context, set string, members ...string) {
	exp := d.expiry()
	zs := make([]redis.Z, len(members))
	for i, m := range members {
		zs[i] = redis.Z{Score: exp, Member: m}
	}
	p.ZAdd(ctx, set, zs...)
	p.PExpire(ctx, set, 2*d.ttl)
}

// live lists a sorted set's members that have not expired, and trims the
// expired ones.
func (d *Directory) live(ctx context.Context, set string) ([]string, error) {
	now := nowScore()
	p := d.rdb.Pipeline()
	p.ZRemRangeByScore(ctx, set, "-inf", "("+now)
	r := p.ZRangeByScore(ctx, set, &redis.ZRangeBy{Min: now, Max: "+inf"})
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	return r.Val(), nil
}

// Heartbeat publishes a node's record and renews its TTL.
func (d *Directory) Heartbeat(ctx context.Context, n NodeInfo) error {
	n.Updated = time.Now().UnixMilli()
	b, _ := json.Marshal(n)
	p := d.rdb.TxPipeline()
	p.Set(ctx, d.key("node", n.ID), b, d.ttl)
	d.addLive(p, ctx, d.key("nodes"), n.ID)
	_, err := p.Exec(ctx)
	return wrap(err)
}

// Node returns a live node's record.
func (d *Directory) Node(ctx context.Context, id string) (NodeInfo, bool, error) {
	b, err := d.rdb.Get(ctx, d.key("node", id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return NodeInfo{}, false, nil
	}
	if err != nil {
		return NodeInfo{}, false, wrap(err)
	}
	var n NodeInfo
	if err := json.Unmarshal(b, &n); err != nil {
		return NodeInfo{}, false, fmt.Errorf("cluster: node %s record: %w", id, err)
	}
	return n, true, nil
}

// Nodes lists the live nodes.
func (d *Directory) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ids, err := d.live(ctx, d.key("nodes"))
	if err != nil {
		return nil, err
	}
	var out []NodeInfo
	for _, id := range ids {
		n, ok, err := d.Node(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// LeastLoaded is the live node with the fewest streams (then rooms, then
// the least CPU), for placing a new room.
func (d *Directory) LeastLoaded(ctx context.Context) (NodeInfo, bool, error) {
	nodes, err := d.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		return NodeInfo{}, false, err
	}
	best := nodes[0]
	for _, n := range nodes[1:] {
		if cmp.Or(cmp.Compare(n.Streams, best.Streams), cmp.Compare(n.Rooms, best.Rooms), cmp.Compare(n.CPU, best.CPU)) < 0 {
			best = n
		}
	}
	return best, true, nil
}

// RemoveNode deletes a node's record (a clean shutdown; a crash lets it
// expire).
func (d *Directory) RemoveNode(ctx context.Context, id string) error {
	p := d.rdb.TxPipeline()
	p.Del(ctx, d.key("node", id))
	p.ZRem(ctx, d.key("nodes"), id)
	_, err := p.Exec(ctx)
	return wrap(err)
}
