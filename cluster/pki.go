package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Nodes authenticate each other with certificates from the cluster's own
// CA: both ends of a relay connection present one and verify the other's
// (TLS 1.3, mutual). A peer whose certificate the CA did not sign never
// gets past the handshake.

// peerName is the name every node certificate carries and every node
// verifies; the node's own id is the certificate's common name.
const peerName = "trtcd-node"

// Certificate lifetimes: nodes are re-issued with `trtcd cluster issue`.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	nodeLifetime = 2 * 365 * 24 * time.Hour
)

// Credentials are a node's certificate and the CA it trusts.
type Credentials struct {
	CA   *x509.CertPool
	Cert tls.Certificate
	Node string // the common name of Cert: this node's id
}

// CA is a cluster CA able to issue node certificates.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a cluster CA.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "trtcd cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// Issue makes a node's certificate and key (PEM) for relay connections in
// both directions.
func (ca *CA) Issue(node string) (certPEM, keyPEM []byte, err error) {
	if node == "" {
		return nil, nil, ErrNoNodeID
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: node},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(nodeLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{peerName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder), nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// Credentials issues a node certificate and returns it with the CA to
// trust, in memory (tests, and nodes started from a CA directly).
func (ca *CA) Credentials(node string) (*Credentials, error) {
	certPEM, keyPEM, err := ca.Issue(node)
	if err != nil {
		return nil, err
	}
	return credentials(pemBlock("CERTIFICATE", ca.cert.Raw), certPEM, keyPEM)
}

// Files in a cluster directory written by `trtcd cluster init`.
const (
	caFile    = "ca.pem"
	caKeyFile = "ca-key.pem"
)

func nodeFiles(dir, node string) (cert, key string) {
	return filepath.Join(dir, node+".pem"), filepath.Join(dir, node+"-key.pem")
}

// InitDir creates a CA in dir (which must not hold one) and issues a
// certificate for each node.
func InitDir(dir string, nodes ...string) error {
	if _, err := os.Stat(filepath.Join(dir, caFile)); err == nil {
		return fmt.Errorf("cluster: %s already holds a CA; issue node certificates from it instead", dir)
	}
	ca, err := NewCA()
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFiles(map[string][]byte{
		filepath.Join(dir, caFile):    pemBlock("CERTIFICATE", ca.cert.Raw),
		filepath.Join(dir, caKeyFile): pemBlock("EC PRIVATE KEY", kder),
	}); err != nil {
		return err
	}
	for _, node := range nodes {
		if err := IssueFiles(dir, node); err != nil {
			return err
		}
	}
	return nil
}

// IssueFiles issues node's certificate from the CA in dir, next to it.
func IssueFiles(dir, node string) error {
	ca, err := loadCA(dir)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := ca.Issue(node)
	if err != nil {
		return err
	}
	cert, key := nodeFiles(dir, node)
	return writeFiles(map[string][]byte{cert: certPEM, key: keyPEM})
}

// InstallNode copies what node needs from a cluster directory into dest
// (a node's DATA/cluster): the CA certificate and the node's own
// certificate and key — never the CA's key.
func InstallNode(dir, node, dest string) error {
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	cert, key := nodeFiles(dir, node)
	files := map[string][]byte{}
	for _, from := range []string{filepath.Join(dir, caFile), cert, key} {
		b, err := os.ReadFile(from)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		files[filepath.Join(dest, filepath.Base(from))] = b
	}
	return writeFiles(files)
}

func writeFiles(files map[string][]byte) error {
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func loadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster: CA in %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("cluster: CA key in %s is not ECDSA", dir)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key}, nil
}

// LoadCredentials reads node's certificate and the CA certificate from a
// cluster directory (the CA's key need not be there).
func LoadCredentials(dir, node string) (*Credentials, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w (create the cluster's certificates with `trtcd cluster init`)", err)
	}
	certFile, keyFile := nodeFiles(dir, node)
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w (issue one with `trtcd cluster issue --dir %s --node %s`)", err, dir, node)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return credentials(caPEM, certPEM, keyPEM)
}

var errNotFromCA = errors.New("cluster: the node certificate is not signed by the cluster CA")

func credentials(caPEM, certPEM, keyPEM []byte) (*Credentials, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("cluster: no CA certificate found")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: peerName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotFromCA, err)
	}
	return &Credentials{CA: pool, Cert: cert, Node: leaf.Subject.CommonName}, nil
}
