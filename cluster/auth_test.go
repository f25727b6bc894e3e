package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// testCA is a cluster CA for one test.
func testCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func testCredentials(t *testing.T, ca *CA, node string) *Credentials {
	t.Helper()
	c, err := ca.Credentials(node)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// askRelay opens a relay stream to addr with tlsConf and asks for a track
// of an unknown kind: a node that lets the peer in answers that the kind is
// unknown.
func askRelay(addr string, tlsConf *tls.Config) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := quic.DialAddr(ctx, addr, tlsConf, quicConfig)
	if err != nil {
		return answer{}, err
	}
	defer c.CloseWithError(0, "")
	st, err := c.OpenStreamSync(ctx)
	if err != nil {
		return answer{}, err
	}
	st.SetDeadline(time.Now().Add(5 * time.Second))
	if err := writeLine(st, hello{Room: "r", User: "alice", Kind: "smell"}); err != nil {
		return answer{}, err
	}
	var a answer
	err = readLine(bufio.NewReader(st), &a)
	return a, err
}

func TestOnlyNodesWithACertificateFromTheClusterCAMayRelay(t *testing.T) {
	ca := testCA(t)
	n := startTestNode(t, ca, StartRedis(t), "a")

	if a, err := askRelay(n.RelayAddr(), clientTLS(testCredentials(t, ca, "b"))); err != nil || a.Error != "unknown kind smell" {
		t.Fatalf("a node of the cluster got %+v, %v; want the answer for an unknown kind", a, err)
	}
	foreign := testCredentials(t, testCA(t), "b")
	noCert := clientTLS(foreign)
	noCert.Certificates = nil
	trustsAnyone := clientTLS(foreign)
	trustsAnyone.InsecureSkipVerify = true
	for name, conf := range map[string]*tls.Config{
		"a certificate from another CA": trustsAnyone,
		"no certificate":                noCert,
	} {
		t.Run(name, func(t *testing.T) {
			if a, err := askRelay(n.RelayAddr(), conf); err == nil {
				t.Fatalf("the relay answered %+v", a)
			}
		})
	}
	// The other way round: a node does not dial a relay whose certificate
	// is from another CA.
	stranger, err := quic.ListenAddr("127.0.0.1:0", serverTLS(foreign), quicConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := askRelay(stranger.Addr().String(), clientTLS(testCredentials(t, ca, "b"))); err == nil {
		t.Fatal("a node dialled a relay with a certificate from another CA")
	}
}

func TestClusterDirectoryOfCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	if err := InitDir(dir, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := InitDir(dir, "c"); err == nil {
		t.Fatal("a second init replaced the CA")
	}
	if err := IssueFiles(dir, "c"); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"a", "b", "c"} {
		c, err := LoadCredentials(dir, node)
		if err != nil || c.Node != node {
			t.Fatalf("credentials of %s: %+v, %v", node, c, err)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("CA key file: %v, %v", info, err)
	}
	if _, err := LoadCredentials(dir, "d"); err == nil {
		t.Fatal("credentials of a node never issued")
	}
	// A node's own directory gets what it needs, and not the CA's key.
	dest := filepath.Join(t.TempDir(), "data", "cluster")
	if err := InstallNode(dir, "b", dest); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCredentials(dest, "b"); err != nil || c.Node != "b" {
		t.Fatalf("credentials of b from its own directory: %+v, %v", c, err)
	}
	if _, err := os.Stat(filepath.Join(dest, caKeyFile)); err == nil {
		t.Fatal("the CA's key was installed on a node")
	}
	// A node certificate from another cluster's CA is refused at load.
	other := filepath.Join(t.TempDir(), "other")
	if err := InitDir(other, "a"); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(dir, caFile), filepath.Join(other, caFile))
	if _, err := LoadCredentials(other, "a"); !errors.Is(err, errNotFromCA) {
		t.Fatalf("a certificate from another CA: %v, want errNotFromCA", err)
	}
	// A node may not start with another node's certificate.
	c, _ := LoadCredentials(dir, "a")
	if _, err := Start(Config{NodeID: "b", Credentials: c}); err == nil {
		t.Fatal("node b started with a's certificate")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
