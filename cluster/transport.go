package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// alpn names the relay protocol in the TLS handshake.
const alpn = "trtcd-relay"

// QUIC settings: keep-alives every 2 s notice a dead peer within the 10 s
// idle timeout; a node relays at most a few hundred tracks to one peer.
var quicConfig = &quic.Config{
	KeepAlivePeriod:    2 * time.Second,
	MaxIdleTimeout:     10 * time.Second,
	MaxIncomingStreams: 1000,
	EnableDatagrams:    true, // relayed media (wire.go)
}

// serverTLS accepts relay connections from nodes with a certificate from
// the cluster CA only.
func serverTLS(c *Credentials) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: c.CA,
		NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}
}

// clientTLS dials nodes whose certificate is from the cluster CA, with this
// node's own.
func clientTLS(c *Credentials) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Cert}, RootCAs: c.CA, ServerName: peerName,
		NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}
}

// peers keeps one QUIC connection per peer node, whichever of the two
// dialed it: each side opens relay streams on it (to pull tracks) and
// accepts the other's (to send tracks).
type peers struct {
	mu    sync.Mutex
	conns map[string]peerConn // by node id
}

type peerConn struct {
	c    *quic.Conn
	side string // SideDialed or SideAccepted
}

// live is the connection with peer, if one is open.
func (p *peers) live(peer string) *quic.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.conns[peer]; ok && pc.c.Context().Err() == nil {
		return pc.c
	}
	return nil
}

// add makes c the connection new relays with peer use. A peer that dials
// has a reason to (it restarted, or has no connection it trusts): its
// connection replaces the one here. Two nodes that dial each other at once
// end up using one each; both work.
func (p *peers) add(peer string, c *quic.Conn, side string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[peer] = peerConn{c, side}
}

// remove forgets c if it is peer's connection.
func (p *peers) remove(peer string, c *quic.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[peer].c == c {
		delete(p.conns, peer)
	}
}

func (p *peers) all() map[string]peerConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.conns)
}

// dialTimeout bounds a relay handshake.
const dialTimeout = 5 * time.Second

// peerConn is the connection with node peer at relay address addr: the
// open one, whichever side dialed it, or a new one. A node at addr with
// another node's certificate is refused.
func (n *Node) peerConn(ctx context.Context, peer, addr string) (*quic.Conn, error) {
	if c := n.peers.live(peer); c != nil {
		return c, nil
	}
	mu, _ := n.dialing.LoadOrStore(peer, new(sync.Mutex))
	mu.(*sync.Mutex).Lock() // one dial per peer at a time: two pulls from a new peer share it
	defer mu.(*sync.Mutex).Unlock()
	if c := n.peers.live(peer); c != nil {
		return c, nil
	}
	udp, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: relay address %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := n.tr.Dial(ctx, udp, clientTLS(n.cfg.Credentials), quicConfig)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial relay %s: %w", addr, err)
	}
	if got := peerNode(c); got != peer {
		c.CloseWithError(0, "wrong node")
		return nil, fmt.Errorf("cluster: the relay at %s is node %s, not %s", addr, got, peer)
	}
	n.peers.add(peer, c, SideDialed)
	n.spawn(func() { n.serveConn(c, peer) })
	return c, nil
}
