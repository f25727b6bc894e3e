package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
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
}

// selfSigned makes the relay listener's certificate in memory. Peers do not
// verify it: they authenticate each other with the cluster key (see wire.go).
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "trtcd-relay"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"trtcd-relay"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serverTLS() (*tls.Config, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("cluster: relay certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}, nil
}

func clientTLS() *tls.Config {
	// The server's identity is proven by the stream answers it can only
	// produce with the key; the TLS layer provides encryption.
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13, ServerName: "trtcd-relay"}
}

// exported is the connection's keying material that proofs are bound to.
func exported(c *quic.Conn) ([]byte, error) {
	st := c.ConnectionState().TLS
	return st.ExportKeyingMaterial(exporterLabel, nil, 32)
}

// dialer keeps one outgoing QUIC connection per peer relay address.
type dialer struct {
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
	c, err := quic.DialAddr(ctx, addr, clientTLS(), quicConfig)
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
