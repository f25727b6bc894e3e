package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
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

// dialer keeps one outgoing QUIC connection per peer relay address.
type dialer struct {
	tls   *tls.Config
	mu    sync.Mutex
	conns map[string]*quic.Conn
}

func (d *dialer) conn(ctx context.Context, addr string) (*quic.Conn, error) {
	d.mu.Lock()
	c := d.conns[addr]
	d.mu.Unlock()
	if c != nil && c.Context().Err() == nil {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := quic.DialAddr(ctx, addr, d.tls, quicConfig)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial relay %s: %w", addr, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.conns[addr]; old != nil && old.Context().Err() == nil {
		c.CloseWithError(0, "duplicate")
		return old, nil
	}
	d.conns[addr] = c
	return c, nil
}

func (d *dialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a, c := range d.conns {
		c.CloseWithError(0, "node stopping")
		delete(d.conns, a)
	}
}
