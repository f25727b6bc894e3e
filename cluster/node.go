package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/sfu"
)

// Config is what a node needs to join a cluster.
type Config struct {
	NodeID    string
	RedisURL  string
	RelayAddr string // UDP host:port of the QUIC relay listener (port 0 picks one)
	// Credentials are the node's certificate from the cluster CA and the
	// CA: relay connections are mutually authenticated with them.
	Credentials *Credentials
	// MediaAddr, HTTPAddr and HTTPSAddr are published in the node's
	// directory record: where clients reach it (HTTPS empty: none).
	MediaAddr, HTTPAddr, HTTPSAddr string
	SFU                            *sfu.SFU
	// Rooms reports whether this node has members in a room (the
	// signalling registry): a node relays remote publishers into rooms it
	// has members in.
	Rooms LocalRooms
	// Heartbeat is how often the node renews its directory entries
	// (default 1 s); TTL is how long they outlive a silent node (default
	// 3 heartbeats). Poll is how often the node looks for remote
	// publications (default 250 ms).
	Heartbeat, TTL, Poll time.Duration
	Logger               *slog.Logger
}

// Node is this server's membership in a cluster.
type Node struct {
	cfg     Config
	log     *slog.Logger
	dir     *Directory
	tr      *quic.Transport // the relay socket's QUIC endpoint
	ln      *quic.Listener
	peers   peers
	dialing sync.Map // peer node id → *sync.Mutex held while dialing it
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	events  chan trackEvent
	load    load // heartbeats only
	seq     atomic.Uint64

	mu    sync.Mutex
	local map[Publication]bool // what local members publish (Node field empty)
	pulls map[pullKey]*pull
	// relayed remembers when each (room, user) was last relayed here, so
	// the sfu's late track events for relayed tracks are not announced.
	relayed map[pullKey]time.Time
	syncMu  sync.Mutex            // one reconciliation at a time
	wanted  map[pullKey]time.Time // WHEP viewers about to arrive, until when

	relayTotals *relayStats // of every relay into this node
	relayedOut  atomic.Uint64
	// media are the sealed media receivers on the relay socket, and
	// senders the sealed media senders by connection (media_out.go); media
	// is nil where the socket cannot take sealed media (IPv6).
	media     *mediaReceivers
	sendersMu sync.Mutex
	senders   map[*quic.Conn]*mediaOut
	demuxMu   sync.Mutex
	demuxes   map[*quic.Conn]*demux // of the connections this node pulls tracks over
}

type pullKey struct{ room, user string }

type trackEvent struct {
	pub       Publication
	published bool
}

// Errors.
var (
	ErrNoNodeID      = errors.New("cluster: a node id is required")
	ErrNoCredentials = errors.New("cluster: a node certificate from the cluster CA is required")
)

// wantFor is how long a node relays a publisher for a viewer that asked
// before anything local follows it.
const wantFor = 10 * time.Second

// Start joins the cluster: it registers the node in the directory and
// opens the relay listener.
func Start(cfg Config) (*Node, error) {
	switch {
	case cfg.NodeID == "":
		return nil, ErrNoNodeID
	case cfg.Credentials == nil:
		return nil, ErrNoCredentials
	case cfg.Credentials.Node != cfg.NodeID:
		return nil, fmt.Errorf("cluster: node %s has the certificate of node %s", cfg.NodeID, cfg.Credentials.Node)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 3 * cfg.Heartbeat
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	dir, err := NewDirectory(cfg.RedisURL, cfg.TTL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := dir.Ping(ctx); err != nil {
		cancel()
		dir.Close()
		return nil, err
	}
	log := cfg.Logger.With("component", "cluster", "node", cfg.NodeID)
	totals := new(relayStats)
	media := newMediaReceivers(log, totals)
	tr, err := relayTransport(cfg.RelayAddr, media)
	var ln *quic.Listener
	if err == nil {
		if ln, err = tr.Listen(serverTLS(cfg.Credentials), quicConfig); err != nil {
			closeTransport(tr)
		}
	}
	if err != nil {
		cancel()
		dir.Close()
		return nil, fmt.Errorf("cluster: listen relay %s: %w", cfg.RelayAddr, err)
	}
	if _, ok := tr.Conn.(*relaySocket); !ok {
		media = nil
	}
	n := &Node{cfg: cfg, log: log, dir: dir, tr: tr, ln: ln, relayTotals: totals, media: media, senders: map[*quic.Conn]*mediaOut{},
		peers: peers{conns: map[string]peerConn{}}, ctx: ctx, cancel: cancel, events: make(chan trackEvent, 1024),
		load: load{bytes: mediaBytes(cfg.SFU)}, local: map[Publication]bool{}, pulls: map[pullKey]*pull{},
		demuxes: map[*quic.Conn]*demux{}, relayed: map[pullKey]time.Time{}, wanted: map[pullKey]time.Time{}}
	if err := n.heartbeat(); err != nil {
		n.Close()
		return nil, err
	}
	n.spawn(func() { n.serve(ln) })
	n.spawn(n.run)
	n.log.Info("cluster node started", "relay", n.RelayAddr())
	return n, nil
}

func (n *Node) spawn(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// RelayAddr is the bound relay address.
func (n *Node) RelayAddr() string { return n.ln.Addr().(*net.UDPAddr).String() }

// Directory is the node's directory client.
func (n *Node) Directory() *Directory { return n.dir }

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// RelayedPackets counts RTP packets received from and sent to peers.
func (n *Node) RelayedPackets() (in, out uint64) {
	t := n.relayTotals
	return t[countSealed].Load() + t[countDatagrams].Load() + t[countStream].Load(), n.relayedOut.Load()
}

// OnTrack is told when a member of this node starts or stops publishing a
// kind (sfu.Config.OnTrack). It never blocks; the relayed tracks this node
// publishes itself are not announced.
func (n *Node) OnTrack(room, user string, src sfu.Source, published bool) {
	select {
	case n.events <- trackEvent{pub: Publication{Room: room, User: user, Kind: src.String()}, published: published}:
	default:
		n.log.Warn("cluster track event queue full; the next heartbeat repairs the directory")
	}
}

// Want starts relaying publisher's tracks into room when another node
// publishes them, and waits (until ctx ends) for them to be published
// here: a viewer that is not a room member (WHEP, FLV) calls it before it
// subscribes. It returns false when no other node publishes them, and an
// error when the directory cannot say (and nothing relays them already).
func (n *Node) Want(ctx context.Context, room, publisher string) (bool, error) {
	k := pullKey{room, publisher}
	n.mu.Lock()
	n.wanted[k] = time.Now().Add(wantFor)
	n.mu.Unlock()
	err := n.fetch(ctx, k)
	for {
		n.mu.Lock()
		p := n.pulls[k]
		n.mu.Unlock()
		if p == nil && err != nil {
			return false, err
		}
		if p == nil || p.ready() {
			return p != nil, nil
		}
		select {
		case <-ctx.Done():
			return true, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close leaves the cluster: relays stop and the node's directory entries
// are deleted.
func (n *Node) Close() {
	n.cancel()
	n.ln.Close()
	n.mu.Lock()
	pulls := n.pulls
	n.pulls = map[pullKey]*pull{}
	local := n.local
	n.mu.Unlock()
	for _, p := range pulls {
		p.stop()
	}
	for _, pc := range n.peers.all() {
		pc.c.CloseWithError(0, "node stopping")
	}
	closeTransport(n.tr) // ends the connections left, then the socket
	n.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for pub := range local {
		n.dir.Withdraw(ctx, n.cfg.NodeID, pub)
	}
	n.dir.RemoveNode(ctx, n.cfg.NodeID)
	n.dir.Close()
	n.log.Info("cluster node stopped")
}

// Relays lists the remote publishers relayed into this node, as
// "room/user" strings.
func (n *Node) Relays() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.pulls))
	for k := range n.pulls {
		out = append(out, k.room+"/"+k.user)
	}
	return out
}
