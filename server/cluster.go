package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/signaling"
	"github.com/trtcd/trtcd/signaling/tlssig"
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

// startCluster joins the cluster when configured.
func (s *Server) startCluster() error {
	c := s.cfg.Cluster
	if c.RedisURL == "" {
		return nil
	}
	n, err := cluster.Start(cluster.Config{
		NodeID: c.NodeID, RedisURL: c.RedisURL, RelayAddr: c.RelayAddr, Credentials: c.Credentials,
		MediaAddr: s.sfu.UDPAddr(), HTTPAddr: s.httpLn.Addr().String(),
		SFU: s.sfu, Rooms: s.rooms, Heartbeat: c.Heartbeat, TTL: c.TTL, Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.cluster.Store(n)
	s.federate(n)
	return nil
}

// federate carries room events between this node's registry and the
// others' over the cluster bus, with a roster every heartbeat; the members
// of a node not heard from for the directory's TTL leave (unless it is this
// node that cannot reach Redis).
func (s *Server) federate(n *cluster.Node) {
	bus := n.StartBus(func(msg []byte) {
		var ev signaling.RemoteEvent
		if err := json.Unmarshal(msg, &ev); err == nil {
			s.rooms.ApplyRemote(ev)
		}
	})
	s.rooms.Federate(n.ID(), func(ev signaling.RemoteEvent) {
		if msg, err := json.Marshal(ev); err == nil && !bus.Send(msg) {
			s.log.Warn("cluster bus full: a room event was dropped (the next roster repairs it)", "kind", ev.Kind)
		}
	})
	heartbeat, ttl := n.Timing()
	n.Every(heartbeat, func() {
		s.rooms.SendRoster()
		if bus.Steady(ttl, 2*heartbeat) {
			s.rooms.ExpireNodes(time.Now().Add(-ttl))
		}
	})
}

// Cluster is the server's cluster node (nil when single).
func (s *Server) Cluster() *cluster.Node { return s.cluster.Load() }

// clusterWait bounds how long a WHEP offer waits for a remote publisher's
// tracks to be relayed here.
const clusterWait = 3 * time.Second

// withCluster lets a WHEP viewer play a publisher on another node: before
// the offer is answered, the node starts relaying the publisher here.
func (s *Server) withCluster(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := s.cluster.Load(); n != nil && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/whep/") {
			if room, publisher, ok := s.whepTarget(r); ok {
				ctx, cancel := context.WithTimeout(r.Context(), clusterWait)
				_, err := n.Want(ctx, room, publisher)
				cancel()
				if err != nil && !s.rooms.IsMember(room, publisher) {
					s.log.Warn("a WHEP viewer of another node's publisher was refused: no directory", "err", err)
					signaling.WriteError(w, signaling.Errorf(signaling.CodeClusterUnavailable,
						"the cluster directory cannot be reached: %s cannot be played from this node now", publisher))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// whepTarget parses /whep/{app}/{room}/{publisher} into the SFU room key,
// for a viewer whose userSig verifies: strangers cannot make nodes relay.
// (The WHEP handler then applies every rule as usual.)
func (s *Server) whepTarget(r *http.Request) (room, publisher string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/whep/"), "/")
	if len(parts) != 3 || parts[2] == "" {
		return "", "", false
	}
	app, err := strconv.ParseUint(parts[0], 10, 32)
	if err != nil {
		return "", "", false
	}
	var rm tlssig.Room
	if str := r.URL.Query().Get("strRoomId"); str != "" {
		rm.Str = str
	} else {
		id, err := strconv.ParseUint(parts[1], 10, 32)
		if err != nil {
			return "", "", false
		}
		rm.ID = uint32(id)
	}
	q := r.URL.Query()
	sig := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, e := s.cfg.Apps.Authenticate(signaling.Credentials{SDKAppID: uint32(app), UserID: q.Get("userId"), UserSig: sig,
		PrivateMapKey: q.Get("privateMapKey"), Room: rm}, time.Now()); e != nil {
		return "", "", false
	}
	return signaling.RoomKey(uint32(app), rm), parts[2], true
}
