// Package testredis starts a real redis-server for a test.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Start runs redis-server on a free loopback port until the test ends and
// returns its URL. Without redis-server the test is skipped, or fails when
// TRTCD_REQUIRE_REDIS=1 (CI).
func Start(t testing.TB) string { return StartServer(t).URL }

// Server is a redis-server a test may stop and start again.
type Server struct {
	URL  string
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartServer is Start, keeping control of the process.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("TRTCD_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, port: ln.Addr().(*net.TCPAddr).Port, dir: t.TempDir()}
	ln.Close()
	s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server (again, on the same port, empty) and waits until
// it answers.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done, cmd := make(chan struct{}), s.cmd
	s.done = done
	go func() { cmd.Wait(); close(done) }()
	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.t.Fatal("redis-server did not answer within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (it loses everything: no persistence).
func (s *Server) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// WaitSubscribers waits until n clients are subscribed to channel (nodes
// on a cluster's bus): a message published before then would be lost to
// the later ones, and how long a node takes to subscribe depends on the
// machine's load.
func WaitSubscribers(t testing.TB, url, channel string, n int64) {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		subs, err := c.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && subs[channel] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscribers on %s after 15 s (%v)", subs[channel], n, channel, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Subscription is a test's own subscriber to a channel: it hears each
// message when every other subscriber (a cluster's nodes) does.
type Subscription struct {
	msgs  <-chan *redis.Message
	close func()
}

// Subscribe listens on channel until Close or the test's end.
func Subscribe(t testing.TB, url, channel string) *Subscription {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	ps := c.Subscribe(context.Background(), channel)
	if _, err := ps.Receive(context.Background()); err != nil { // the subscription's confirmation
		c.Close()
		t.Fatal(err)
	}
	s := &Subscription{msgs: ps.Channel(), close: sync.OnceFunc(func() { ps.Close(); c.Close() })}
	t.Cleanup(s.Close)
	return s
}

// Close ends the subscription: what it does not read piles up otherwise.
func (s *Subscription) Close() { s.close() }

// WaitFor waits up to within for a message that match accepts, skipping
// the others.
func (s *Subscription) WaitFor(t testing.TB, what string, within time.Duration, match func(payload string) bool) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("the subscription ended before %s", what)
			}
			if match(m.Payload) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within %s", what, within)
		}
	}
}
