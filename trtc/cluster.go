package trtc

import "time"

// JoinCluster federates the registry over a cluster of trtcd nodes, once,
// before clients come: rooms span nodes (c carries the events), publishers
// elsewhere are fetched for viewers here, rooms are placed, and a recordId
// is recorded on the node that claims it, by rec.
func (r *Registry) JoinCluster(c Cluster, rec Recorder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.node, r.send = c.Node(), c.Send
	r.remote = map[string]map[string]*remoteMember{}
	r.heard = map[string]time.Time{}
	r.fetch, r.place = c.Fetch, c.Place
	r.recorder, r.claim = rec, c.ClaimRecord
}
