package cluster

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/sfu"
)

func TestAPeerWithoutTheClusterKeyCannotSubscribe(t *testing.T) {
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	n, err := Start(Config{NodeID: "a", RedisURL: StartRedis(t), RelayAddr: "127.0.0.1:0", Key: []byte("right"), SFU: media})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, tc := range []struct {
		name string
		key  []byte
		bind bool // bind the proof to this connection
	}{
		{"wrong key", []byte("wrong"), true},
		{"right key, proof from another connection", []byte("right"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := quic.DialAddr(ctx, n.RelayAddr(), clientTLS(), quicConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseWithError(0, "")
			ekm := make([]byte, 32)
			if tc.bind {
				ekm, _ = exported(c)
			}
			st, err := c.OpenStreamSync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			writeLine(st, hello{Node: "stranger", Proof: proof(tc.key, "stranger", ekm), Room: "r", User: "alice", Kind: "video"})
			var a answer
			if err := readLine(bufio.NewReader(st), &a); err != nil {
				t.Fatal(err)
			}
			if a.Error != errDenied.Error() {
				t.Fatalf("answer %+v, want refusal", a)
			}
		})
	}
	if n.denied.Load() != 2 {
		t.Fatalf("denied = %d, want 2", n.denied.Load())
	}
}
