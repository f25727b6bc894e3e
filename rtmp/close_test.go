package rtmp

import (
	"errors"
	"net"
	"testing"
	"time"
)

// Close is safe to call twice: Serve returns ErrClosed once, a connected
// client is cut, and a second Close finds nothing left to do.
func TestServerCloseTwice(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Logger: slogDiscard()}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s.Close()
	s.Close()
	select {
	case err := <-served:
		if !errors.Is(err, ErrClosed) && !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve returned %v after Close", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("the client's connection is still open after Close")
	}
}
