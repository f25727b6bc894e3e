package rtmp_test

import (
	"context"
	"errors"
	"log"
	"net"
	"net/url"
	"sync"

	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/rtmp/flv"
)

// relay is the smallest useful Handler: one publisher per name, any number
// of players, and a key in the query to publish.
type relay struct {
	mu      sync.Mutex
	players map[string]map[rtmp.TagWriter]bool
}

func (r *relay) Publish(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values) (rtmp.Publisher, error) {
	if q.Get("key") != "secret" {
		return nil, &rtmp.StatusError{Code: "NetStream.Publish.Unauthorized", Description: "70346 bad key"}
	}
	return &relayPublisher{r: r, name: name}, nil
}

func (r *relay) Play(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values, w rtmp.TagWriter) error {
	r.mu.Lock()
	if r.players[name] == nil {
		r.players[name] = map[rtmp.TagWriter]bool{}
	}
	r.players[name][w] = true
	r.mu.Unlock()
	<-ctx.Done() // the publisher's WriteTag feeds w meanwhile
	r.mu.Lock()
	delete(r.players[name], w)
	r.mu.Unlock()
	return nil
}

type relayPublisher struct {
	r    *relay
	name string
}

func (p *relayPublisher) WriteTag(t flv.Tag) error {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	for w := range p.r.players[p.name] {
		_ = w.WriteTag(t) // a slow player is dropped by the server, not by us
	}
	return nil
}

func (p *relayPublisher) Close() {}

func ExampleServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:1935")
	if err != nil {
		log.Fatal(err)
	}
	srv := &rtmp.Server{Handler: &relay{players: map[string]map[rtmp.TagWriter]bool{}}}
	go func() {
		// ffmpeg -re -i in.flv -c copy -f flv "rtmp://127.0.0.1:1935/live/cam?key=secret"
		// ffplay rtmp://127.0.0.1:1935/live/cam
		if err := srv.Serve(ln); !errors.Is(err, rtmp.ErrClosed) {
			log.Print(err)
		}
	}()
	srv.Close()
}
