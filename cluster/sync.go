package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/trtcd/trtcd/sfu"
)

// run is the node's loop: it applies track events at once, renews the
// directory every heartbeat and reconciles relays every poll.
func (n *Node) run() {
	beat := time.NewTicker(n.cfg.Heartbeat)
	defer beat.Stop()
	poll := time.NewTicker(n.cfg.Poll)
	defer poll.Stop()
	unreachable := false // say so once, not every heartbeat
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev := <-n.events:
			n.apply(ev)
		case <-beat.C:
			err := n.heartbeat()
			switch {
			case err != nil && !unreachable:
				n.log.Error("cluster directory unreachable: running calls go on; new cross-node viewers get 14010 until it is back", "err", err)
			case err == nil && unreachable:
				n.log.Info("cluster directory reachable again")
			}
			unreachable = err != nil
		case <-poll.C:
			if err := n.sync(); err != nil {
				n.log.Debug("cluster sync", "err", err)
			}
		}
	}
}

// isRelay reports whether a room member's tracks here are relayed ones.
func (n *Node) isRelay(room, user string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := pullKey{room, user}
	return n.pulls[k] != nil || time.Since(n.relayed[k]) < relayedMemory
}

// relayedMemory is how long track events for a stopped relay are ignored.
const relayedMemory = 10 * time.Second

func (n *Node) apply(ev trackEvent) {
	if n.isRelay(ev.pub.Room, ev.pub.User) {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, time.Second)
	defer cancel()
	n.mu.Lock()
	if ev.published {
		n.local[ev.pub] = true
	} else {
		delete(n.local, ev.pub)
	}
	n.mu.Unlock()
	var err error
	if ev.published {
		err = n.dir.Announce(ctx, n.cfg.NodeID, []string{ev.pub.Room}, []Publication{ev.pub})
	} else {
		err = n.dir.Withdraw(ctx, n.cfg.NodeID, ev.pub)
	}
	if err != nil {
		n.log.Warn("cluster directory", "err", err)
	}
}

// heartbeat renews the node's record, rooms and publications.
func (n *Node) heartbeat() error {
	ctx, cancel := context.WithTimeout(n.ctx, time.Second)
	defer cancel()
	n.mu.Lock()
	pubs := make([]Publication, 0, len(n.local))
	roomSet := map[string]bool{}
	for p := range n.local {
		pubs = append(pubs, p)
		roomSet[p.Room] = true
	}
	for k := range n.pulls {
		roomSet[k.room] = true
	}
	n.mu.Unlock()
	if n.cfg.Rooms != nil {
		for _, r := range n.cfg.Rooms.Keys() {
			roomSet[r] = true
		}
	}
	rooms := make([]string, 0, len(roomSet))
	for r := range roomSet {
		rooms = append(rooms, r)
	}
	info := NodeInfo{ID: n.cfg.NodeID, Relay: n.RelayAddr(), Media: n.cfg.MediaAddr, HTTP: n.cfg.HTTPAddr, HTTPS: n.cfg.HTTPSAddr,
		Rooms: len(rooms), Streams: len(pubs)}
	info.CPU, info.Bitrate = n.load.sample()
	if err := n.dir.Heartbeat(ctx, info); err != nil {
		return err
	}
	return n.dir.Announce(ctx, n.cfg.NodeID, rooms, pubs)
}

// remote is a user publishing in a room on another node.
type remote struct {
	node  string
	kinds []sfu.Source
}

// sync starts relays for remote publishers this node has an audience for
// and stops the others.
func (n *Node) sync() error {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	ctx, cancel := context.WithTimeout(n.ctx, time.Second)
	defer cancel()
	rooms, err := n.dir.Rooms(ctx)
	if err != nil {
		return err
	}
	found := map[pullKey]remote{}
	for _, room := range rooms {
		pubs, err := n.dir.Publications(ctx, room)
		if err != nil {
			return err
		}
		n.addRemotes(found, room, pubs)
	}
	n.reconcile(found)
	return nil
}

// addRemotes adds a room's publications on other nodes to found.
func (n *Node) addRemotes(found map[pullKey]remote, room string, pubs []Publication) {
	for _, p := range pubs {
		if p.Node == n.cfg.NodeID {
			continue
		}
		kind, ok := sfu.ParseSource(p.Kind)
		if !ok {
			continue
		}
		k := pullKey{room, p.User}
		r := found[k]
		if r.node != "" && r.node != p.Node {
			continue // two nodes claim one user: the first listed wins until the other expires
		}
		r.node = p.Node
		r.kinds = append(r.kinds, kind)
		slices.Sort(r.kinds)
		found[k] = r
	}
}

// fetch starts relaying k's tracks when another node publishes them: what
// Want needs, from one room's publications. A full sync reads every room's,
// serialised node-wide, so one per viewer that asks (WHEP or FLV naming
// publishers anywhere) would queue the node's own reconciliation behind
// them.
func (n *Node) fetch(ctx context.Context, k pullKey) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	pubs, err := n.dir.Publications(ctx, k.room)
	if err != nil {
		return err
	}
	found := map[pullKey]remote{}
	n.addRemotes(found, k.room, pubs)
	r, ok := found[k]
	if !ok {
		return nil
	}
	n.syncMu.Lock() // a sync's stop of pulls its scan did not see must not cross this start
	defer n.syncMu.Unlock()
	n.start(k, r, time.Now())
	return nil
}

func (n *Node) reconcile(found map[pullKey]remote) {
	now := time.Now()
	var stop []*pull
	n.mu.Lock()
	for k, until := range n.wanted {
		if now.After(until) {
			delete(n.wanted, k)
		}
	}
	for k, at := range n.relayed {
		if now.Sub(at) > relayedMemory {
			delete(n.relayed, k)
		}
	}
	for k, p := range n.pulls {
		r, ok := found[k]
		keep := ok && r.node == p.node && n.audience(k, p, now)
		if keep {
			p.setKinds(r.kinds)
		} else {
			n.relayed[k] = now
			delete(n.pulls, k)
			stop = append(stop, p)
		}
	}
	n.mu.Unlock()
	for _, p := range stop {
		p.stop()
		n.log.Info("relay stopped", "room", p.room, "user", p.user, "from", p.node)
	}
	for k, r := range found {
		n.start(k, r, now)
	}
}

// start relays k's tracks from r unless a relay runs or nobody here wants
// them.
func (n *Node) start(k pullKey, r remote, now time.Time) {
	n.mu.Lock()
	_, running := n.pulls[k]
	want := !running && n.audience(k, nil, now)
	if want {
		n.relayed[k] = now.Add(time.Hour) // until the pull is in n.pulls
	}
	n.mu.Unlock()
	if !want {
		return
	}
	p, err := n.startPull(k.room, k.user, r.node, r.kinds)
	n.mu.Lock()
	n.relayed[k] = time.Now()
	if err == nil {
		n.pulls[k] = p
	}
	n.mu.Unlock()
	if err != nil {
		n.log.Warn("relay start", "err", err)
		return
	}
	n.log.Info("relay started", "room", k.room, "user", k.user, "from", r.node, "kinds", r.kinds)
}

// audience reports whether this node has someone for a remote publisher:
// members in the room, a viewer that asked lately, or local followers of
// the relayed tracks. n.mu is held.
func (n *Node) audience(k pullKey, p *pull, now time.Time) bool {
	if n.cfg.Rooms != nil && n.cfg.Rooms.Exists(k.room) {
		return true
	}
	if until, ok := n.wanted[k]; ok && now.Before(until) {
		return true
	}
	return p != nil && (now.Sub(p.started) < wantFor || p.watched())
}
