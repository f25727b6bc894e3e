package classroom

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// countingPeer counts the events it is given, as a connection's queue
// would take them.
type countingPeer struct{ n atomic.Int64 }

func (p *countingPeer) Notify(trtc.Event) { p.n.Add(1) }
func (p *countingPeer) Kick(*trtc.Error)  {}

// BenchmarkGroupFanOut sends group messages to a class of 50 members, from
// 10 senders at once, with the history synced to disk as in production,
// and reports the deliveries per second.
//
//	go test -run '^$' -bench GroupFanOut -cpu 1 ./classroom
func BenchmarkGroupFanOut(b *testing.B) {
	const members, senders = 50, 10
	cs, gate := testClasses(b, members, false) // synced, as in production
	id := tlssig.Room{ID: 9}
	cs.Create(testApp, id, "m0")
	peers := make([]*countingPeer, members)
	var senderMembers []*trtc.Member
	for i := range members {
		peers[i] = &countingPeer{}
		user := fmt.Sprintf("m%d", i)
		cs.SignIn(testApp, user, peers[i])
		m := enter(b, gate, user, id, peers[i])
		if i < senders {
			senderMembers = append(senderMembers, m)
		}
	}
	var before int64 // member-join events
	for _, p := range peers {
		before += p.n.Load()
	}
	var next atomic.Int64
	b.SetParallelism(senders) // goroutines per GOMAXPROCS: waiting on the disk, not the CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % senders
		m := senderMembers[i]
		for pb.Next() {
			id := fmt.Sprint(next.Add(1))
			if _, e := cs.Send(testApp, m.UserID, m, SendRequest{Type: "custom", Data: `{"stroke":[[0.1,0.2],[0.3,0.4]]}`, Ext: BoardExt, ClientMsgID: id}); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.StopTimer()
	delivered := -before
	for _, p := range peers {
		delivered += p.n.Load()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
}
