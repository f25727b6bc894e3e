package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/trtc"
)

// ClusterConfig joins the server to a cluster of trtcd nodes (see
// docs/cluster.md). RedisURL empty: a single node.
type ClusterConfig struct {
	RedisURL  string
	NodeID    string
	RelayAddr string // UDP host:port of the QUIC relay
	// Credentials: the node's certificate from the cluster CA, and the CA.
	Credentials *cluster.Credentials
	// Heartbeat and TTL of the directory entries (0: defaults).
	Heartbeat, TTL time.Duration
}

// openCluster joins the cluster when configured.
func (s *Server) openCluster() error {
	c := s.cfg.Cluster
	if c.RedisURL == "" {
		return nil
	}
	n, err := cluster.Start(cluster.Config{
		NodeID: c.NodeID, RedisURL: c.RedisURL, RelayAddr: c.RelayAddr, Credentials: c.Credentials,
		MediaAddr: s.sfu.UDPAddr(), HTTPAddr: s.advertised(s.httpLn.Addr()), HTTPSAddr: s.advertised(s.HTTPSAddr()),
		SFU: s.sfu, Rooms: s.rooms, Heartbeat: c.Heartbeat, TTL: c.TTL, Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.cluster.Store(n)
	s.onClose(n.Close)
	s.federate(n)
	return nil
}

// link is the cluster as the room registry sees it (trtc.Cluster).
type link struct {
	n   *cluster.Node
	bus *cluster.Bus
	log *slog.Logger
}

func (l link) Node() string { return l.n.ID() }

func (l link) Send(ev trtc.RemoteEvent) {
	if msg, err := json.Marshal(ev); err == nil && !l.bus.Send(msg) {
		l.log.Warn("cluster bus full: a room event was dropped (the next roster repairs it)", "kind", ev.Kind)
	}
}

func (l link) Fetch(ctx context.Context, room, publisher string) error {
	_, err := l.n.Want(ctx, room, publisher)
	return err
}

func (l link) Place(ctx context.Context, room string) (trtc.Placement, error) {
	info, err := l.n.Place(ctx, room)
	return trtc.Placement{Node: info.ID, HTTP: info.HTTP, HTTPS: info.HTTPS}, err
}

func (l link) ClaimRecord(recordID string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	owner, err := l.n.Directory().ClaimRecord(ctx, recordID, l.n.ID())
	return err != nil || owner == l.n.ID() // the directory out of reach: record here rather than not at all
}

// advertised is where clients reach a listener: its port on the public
// address when one is configured (--public-ip), else its own address.
func (s *Server) advertised(a net.Addr) string {
	if a == nil {
		return ""
	}
	if len(s.cfg.Media.PublicIPs) == 0 {
		return a.String()
	}
	_, port, _ := net.SplitHostPort(a.String())
	return net.JoinHostPort(s.cfg.Media.PublicIPs[0], port)
}

// federate carries room events between this node's registry and the
// others' over the cluster bus, with a roster every heartbeat; the members
// of a node not heard from for the directory's TTL leave (unless it is this
// node that cannot reach Redis).
func (s *Server) federate(n *cluster.Node) {
	s.classes.Share(n.Directory(), n.ID())
	bus := n.StartBus(func(msg []byte) {
		var ev trtc.RemoteEvent
		if err := json.Unmarshal(msg, &ev); err == nil {
			s.rooms.ApplyRemote(ev)
		}
	}, s.classEvent)
	s.rooms.JoinCluster(link{n: n, bus: bus, log: s.log}, recorder{s.rec})
	heartbeat, ttl := n.Timing()
	n.Every(heartbeat, func() {
		s.rooms.SendRoster()
		s.rooms.RecordUnclaimed(s.log)
		ctx, cancel := context.WithTimeout(context.Background(), heartbeat)
		n.Directory().RenewOwned(ctx, n.ID(), s.classes.SignedIn(), s.rec.RecordIDs()) // a directory out of reach: the next beat
		cancel()
		if bus.Steady(ttl, 2*heartbeat) {
			s.rooms.ExpireNodes(time.Now().Add(-ttl))
		}
	})
}

// classEvent delivers a class's news from the cluster to this node's
// members.
func (s *Server) classEvent(ev cluster.ClassEvent) {
	switch ev.Kind {
	case cluster.ClassMessage:
		s.classes.DeliverGroup(ev.Class, ev.Body)
	case cluster.ClassDestroyed:
		s.classes.EndShared(ev.Class)
	case cluster.ClassC2C:
		if ev.Node == s.Cluster().ID() {
			s.classes.DeliverC2C(ev.User, ev.Body)
		}
	case cluster.ClassSignIn:
		since, _ := strconv.ParseInt(string(ev.Body), 10, 64)
		s.classes.SignedInElsewhere(ev.User, ev.Node, since)
	}
}
