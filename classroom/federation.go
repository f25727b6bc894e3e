package classroom

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// On a cluster a class spans every node its members are on, so its record,
// its message numbers and its history live in the cluster's directory
// (Directory, package cluster's Redis) instead of this node's store.
// The directory numbers each group message and publishes it to every
// node in that order; each node delivers it to its own members
// (DeliverGroup). A C2C message goes to the node its receiver is signed in
// on (DeliverC2C). These entry points run on the bus's one goroutine, as
// ApplyRemote does: a panic in one is counted and drops that message only.

// sharedTimeout bounds one request to the directory; signInTimeout the
// one a login waits for (it does not need the directory to succeed).
const (
	sharedTimeout = 2 * time.Second
	signInTimeout = 500 * time.Millisecond
)

// Share keeps the classes in shared from now on (call it before serving):
// node is this node's id in it.
func (cs *Classrooms) Share(shared Directory, node string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.shared, cs.node = shared, node
}

// UserRef names an app's user across nodes: "1400000001/alice".
func UserRef(app uint32, user string) string { return fmt.Sprintf("%d/%s", app, user) }

func parseUserRef(ref string) (userKey, bool) {
	app, user, ok := strings.Cut(ref, "/")
	n, err := strconv.ParseUint(app, 10, 32)
	return userKey{uint32(n), user}, ok && err == nil
}

// SignedIn lists the users signed in here (UserRefs): their entries in
// the directory are renewed with the node's heartbeat.
func (cs *Classrooms) SignedIn() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]string, 0, len(cs.peers))
	for k, p := range cs.peers {
		if _, server := p.peer.(serverPeer); !server { // the application server's sender, not where messages go
			out = append(out, UserRef(k.app, k.user))
		}
	}
	return out
}

func unavailable(what string, err error) *trtc.Error {
	return trtc.Errorf(trtc.CodeClusterUnavailable, "%s: the cluster's directory cannot be reached: %v", what, err)
}

func sharedCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), sharedTimeout)
}

// findShared reads a class from the directory.
func (cs *Classrooms) findShared(shared Directory, key string) (*class, *trtc.Error) {
	ctx, cancel := sharedCtx()
	defer cancel()
	rec, last, ok, err := shared.Class(ctx, key)
	if err != nil {
		return nil, unavailable("finding the classroom", err)
	}
	c := &class{seq: last}
	if !ok || json.Unmarshal(rec, &c.stored) != nil {
		return nil, nil
	}
	return c, nil
}

// appendShared numbers, stores and publishes a group message; it reaches
// this node's members as everyone else's, through DeliverGroup. A retry
// that another node took the first time (the client reconnected through a
// load balancer) is answered with the first number and not sent again.
func (cs *Classrooms) appendShared(shared Directory, key string, msg Message) (Message, *trtc.Error) {
	data := marshalUnescaped(msg) // Seq is 0 and first
	ctx, cancel := sharedCtx()
	defer cancel()
	seq, _, ok, err := shared.AppendMessage(ctx, key, msg.From+"/"+msg.ClientMsgID, data, cs.Limits.HistoryCap, cs.Limits.HistoryBytes, cs.Limits.RetryWindow)
	switch {
	case err != nil:
		return msg, unavailable("sending the message", err)
	case !ok:
		return msg, trtc.Errorf(trtc.CodeIMGroupNotFound, "classroom %s does not exist (create it first) or was destroyed", key)
	}
	msg.Seq = seq
	return msg, nil
}

// DeliverGroup gives a numbered group message to the class's members on
// this node, and to its recording if this node records the class (the
// recorder writes only where a recording of the room runs), whichever
// node it was sent on.
func (cs *Classrooms) DeliverGroup(class string, msg []byte) {
	defer panics.Recover(panics.Cluster, nil)
	cs.Rooms.Broadcast(class, trtc.Event{Name: EventMessage, Data: json.RawMessage(msg)})
	if f := cs.OnGroupMessage; f != nil {
		if id := cs.Rooms.RecordIDOf(class); id != "" { // decoded only for a recorded room
			var m Message
			if json.Unmarshal(msg, &m) == nil {
				f(class, id, m)
			}
		}
	}
}

// DeliverC2C gives a C2C message to its receiver if signed in here.
func (cs *Classrooms) DeliverC2C(user string, msg []byte) {
	defer panics.Recover(panics.Cluster, nil)
	k, ok := parseUserRef(user)
	if !ok {
		return
	}
	if to := cs.signedInPeer(k); to != nil {
		to.Notify(trtc.Event{Name: EventMessage, Data: json.RawMessage(msg)})
	}
}

// signedInPeer is where k's messages go on this node, if signed in here.
func (cs *Classrooms) signedInPeer(k userKey) trtc.Peer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if p := cs.peers[k]; p != nil {
		return p.peer
	}
	return nil
}

// EndShared tells the class's members on this node that it was destroyed
// and ends their room.
func (cs *Classrooms) EndShared(class string) {
	defer panics.Recover(panics.Cluster, nil)
	cs.ended(class)
}

// sendC2CShared sends to a receiver signed in on another node.
func (cs *Classrooms) sendC2CShared(shared Directory, app uint32, msg Message) *trtc.Error {
	data := marshalUnescaped(msg)
	ctx, cancel := sharedCtx()
	defer cancel()
	ok, err := shared.SendC2C(ctx, UserRef(app, msg.To), data)
	switch {
	case err != nil:
		return unavailable("sending the message", err)
	case !ok:
		return trtc.Errorf(trtc.CodeIMUnknownReceiver, "user %q is not signed in", msg.To)
	}
	return nil
}

// claimShared records a sign-in in the directory (best effort: a claim
// lost to a Redis outage is made again by the next heartbeat, see
// SignedIn).
func (cs *Classrooms) claimShared(app uint32, user string, since int64) {
	if shared, node := cs.sharing(); shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), signInTimeout)
		defer cancel()
		shared.SignIn(ctx, UserRef(app, user), node, since)
	}
}

// SignedInElsewhere ends this node's session of user if it began before
// since: the user signed in again on node.
func (cs *Classrooms) SignedInElsewhere(user, node string, since int64) {
	defer panics.Recover(panics.Cluster, nil)
	k, ok := parseUserRef(user)
	if p := cs.replacedElsewhere(k, ok, node, since); p != nil {
		p.Kick(trtc.Errorf(trtc.CodeForceOffline, "user %s signed in again elsewhere", k.user))
	}
}

// replacedElsewhere forgets this node's session of k if a sign-in on node
// at since replaces it, and returns its peer to be kicked.
func (cs *Classrooms) replacedElsewhere(k userKey, ok bool, node string, since int64) trtc.Peer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	p := cs.peers[k]
	if !ok || node == cs.node || p == nil || p.since >= since {
		return nil
	}
	delete(cs.peers, k)
	return p.peer
}

// releaseShared forgets a sign-out in the directory, unless the user
// signed in here again meanwhile.
func (cs *Classrooms) releaseShared(app uint32, user string) {
	cs.mu.Lock()
	back := cs.peers[userKey{app, user}] != nil
	cs.mu.Unlock()
	if shared, node := cs.sharing(); shared != nil && !back {
		ctx, cancel := sharedCtx()
		defer cancel()
		shared.ReleaseUser(ctx, UserRef(app, user), node)
	}
}

func (cs *Classrooms) sharing() (Directory, string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.shared, cs.node
}

func createShared(shared Directory, c storedClass, id tlssig.Room, perCreator int) *trtc.Error {
	rec, _ := json.Marshal(c)
	ctx, cancel := sharedCtx()
	defer cancel()
	created, full, err := shared.CreateClass(ctx, c.App, c.Key, c.Creator, rec, perCreator)
	switch {
	case err != nil:
		return unavailable("creating the classroom", err)
	case full:
		return tooManyClasses(c.Creator, perCreator)
	case !created:
		return trtc.Errorf(trtc.CodeIMGroupExists, "classroom %s already exists", id)
	}
	return nil
}

func (cs *Classrooms) listShared(shared Directory, app uint32) []map[string]any {
	ctx, cancel := sharedCtx()
	defer cancel()
	keys, _ := shared.Classes(ctx, app) // a directory out of reach lists none
	var out []map[string]any
	for _, k := range keys {
		if c, _ := cs.findShared(shared, k); c != nil {
			out = append(out, c.summary())
		}
	}
	return out
}
