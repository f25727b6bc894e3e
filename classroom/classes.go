// Package classroom is TIC's classes on top of the room core's rooms:
// creating and destroying a class, the C2C and group messages of
// signed-in users (ordered, stored, replayed to late joiners), the retry
// cache that keeps a retried send from being delivered twice, and, on a
// cluster, the class events the directory carries between nodes. The ways
// in (/ws, the REST API) parse their requests and call Classrooms.
package classroom

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Limits bound classes and their messages; a zero field takes its
// default.
type Limits struct {
	MaxMessageBytes   int     // text or data [12 KB]
	MessagesPerSecond float64 // per sender [20]
	MessageBurst      int     // [40]
	HistoryCap        int     // stored group messages per class [10000]
	// HistoryBytes bounds a class's stored group messages in bytes: the
	// oldest go first, so a class of big messages keeps fewer. [32 MiB]
	HistoryBytes int
	// HistoryReplyBytes bounds one history reply, frame included: it
	// carries the whole messages that fit (at least one) and more: true.
	HistoryReplyBytes int // [1 MiB]
	// HistoryBytesPerSecond paces the history one reader (a /ws
	// connection) is sent, after a first 4 seconds' worth: at 20 requests
	// a second, a reader could otherwise have 20 MiB a second sent, the
	// server's uplink that every call shares. [1 MiB]
	HistoryBytesPerSecond int
	// ClassesPerUser bounds the existing classes one userId of an app has
	// created itself (createClassroom); those of the application server's
	// REST create_classroom and of admin identifiers do not count.
	ClassesPerUser int // [20]
	// RetryCacheEntries bounds the clientMsgIds this node remembers to
	// answer a retried send (the oldest go first); RetryWindow is how long
	// one is remembered.
	RetryCacheEntries int           // [10000]
	RetryWindow       time.Duration // [10 min]
}

// DefaultLimits are Tencent IM's message size and a classroom's pace.
var DefaultLimits = Limits{MaxMessageBytes: 12 << 10, MessagesPerSecond: 20, MessageBurst: 40, HistoryCap: 10000,
	HistoryBytes: 32 << 20, HistoryReplyBytes: 1 << 20, HistoryBytesPerSecond: 1 << 20, ClassesPerUser: 20, RetryCacheEntries: 10000, RetryWindow: 10 * time.Minute}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int }{{&l.MaxMessageBytes, &d.MaxMessageBytes}, {&l.MessageBurst, &d.MessageBurst},
		{&l.HistoryCap, &d.HistoryCap}, {&l.HistoryBytes, &d.HistoryBytes}, {&l.HistoryReplyBytes, &d.HistoryReplyBytes},
		{&l.HistoryBytesPerSecond, &d.HistoryBytesPerSecond}, {&l.ClassesPerUser, &d.ClassesPerUser},
		{&l.RetryCacheEntries, &d.RetryCacheEntries}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if l.MessagesPerSecond <= 0 {
		l.MessagesPerSecond = d.MessagesPerSecond
	}
	if l.RetryWindow <= 0 {
		l.RetryWindow = d.RetryWindow
	}
	return l
}

// Classrooms are TIC's classes on top of rooms: creation and destruction,
// the C2C and group messages of signed-in users, ordered and stored.
type Classrooms struct {
	Rooms  *trtc.Registry
	Store  *Store
	Limits Limits
	// OnGroupMessage, when set, sees every stored group message (recorded
	// classes write them next to their recordings).
	OnGroupMessage func(roomKey, recordID string, m Message)

	mu      sync.Mutex
	classes map[string]*class // by room key
	// createdBy counts the classes in classes that count against their
	// creator's ClassesPerUser.
	createdBy map[userKey]int
	peers     map[userKey]*signedIn
	// sent outlives sign-ins: a send retried on a new connection after a
	// dropped one is still recognised.
	sent *retryCache
	// shared, when set, keeps the classes instead of Store and the
	// classes map (a cluster: federation.go); node is this node.
	shared Directory
	node   string
}

// class is one classroom.
type class struct {
	stored storedClass

	mu        sync.Mutex // orders the class's messages
	seq       uint64
	destroyed bool
	delivered chan struct{} // closed once the last message numbered was delivered (or given up)
}

// deliverAfter runs deliver once the message is stored and every message
// numbered before it was delivered, and returns the store's answer.
// Members get messages in sequence order and only stored ones: a message
// delivered before its commit was lost by a crash, and the restart gave
// its number to the next message, which members that had seen the lost
// one then dropped as a repeat. Callers hold c.mu.
func (c *class) deliverAfter(stored <-chan error, deliver func()) <-chan error {
	prev, next := c.delivered, make(chan struct{})
	c.delivered = next
	answer := make(chan error, 1)
	go func() {
		err := <-stored
		if prev != nil {
			<-prev
		}
		if err == nil {
			deliver()
		}
		close(next)
		answer <- err
	}()
	return answer
}

// userKey names a user of an app.
type userKey struct {
	app  uint32
	user string
}

// signedIn is a signed-in connection: where a user's C2C messages go.
type signedIn struct {
	peer    trtc.Peer
	limiter *rate.Limiter
	since   int64 // unix nanoseconds: of two sign-ins on two nodes the later stays
}

// Load restores the classes kept in store.
func Load(rooms *trtc.Registry, store *Store, limits Limits) (*Classrooms, error) {
	limits = limits.withDefaults()
	cs := &Classrooms{Rooms: rooms, Store: store, Limits: limits, classes: map[string]*class{}, createdBy: map[userKey]int{},
		peers: map[userKey]*signedIn{}, sent: newRetryCache(limits.RetryCacheEntries, limits.RetryWindow)}
	stored, err := store.classes()
	if err != nil {
		return nil, err
	}
	for c, seq := range stored {
		cs.classes[c.Key] = &class{stored: c, seq: seq}
		if c.Counted {
			cs.createdBy[userKey{c.App, c.Creator}]++
		}
	}
	return cs, nil
}

// SignIn makes peer the place where user's messages go; a peer signed in
// before as the same user is returned, to be told it was replaced.
func (cs *Classrooms) SignIn(app uint32, user string, peer trtc.Peer) (old trtc.Peer) {
	old, since := cs.signIn(app, user, peer)
	cs.claimShared(app, user, since) // where other nodes' C2C messages find the user
	return old
}

func (cs *Classrooms) signIn(app uint32, user string, peer trtc.Peer) (old trtc.Peer, since int64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	k := userKey{app, user}
	if p := cs.peers[k]; p != nil {
		if p.peer == peer {
			return nil, p.since
		}
		old = p.peer
	}
	since = time.Now().UnixNano()
	cs.peers[k] = &signedIn{peer: peer, since: since,
		limiter: rate.NewLimiter(rate.Limit(cs.Limits.MessagesPerSecond), cs.Limits.MessageBurst)}
	return old, since
}

// SignOut forgets peer (if it is still the user's connection).
func (cs *Classrooms) SignOut(app uint32, user string, peer trtc.Peer) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if p := cs.peers[userKey{app, user}]; p != nil && p.peer == peer {
		delete(cs.peers, userKey{app, user})
		if cs.shared != nil {
			go cs.releaseShared(app, user) // SignOut runs under the connection's teardown
		}
	}
}

func classKey(app uint32, id tlssig.Room) string { return trtc.RoomKey(app, id) }

// Create registers a class for the application server (trusted: not
// bound by ClassesPerUser); its creator may destroy it.
func (cs *Classrooms) Create(app uint32, id tlssig.Room, creator string) *trtc.Error {
	return cs.create(app, id, creator, 0)
}

// CreateAsUser registers a class a user asked for: a user who has
// ClassesPerUser classes already gets 10037 until it destroys one.
func (cs *Classrooms) CreateAsUser(app uint32, id tlssig.Room, creator string) *trtc.Error {
	return cs.create(app, id, creator, cs.Limits.ClassesPerUser)
}

// create registers a class. With perCreator (> 0) the class counts
// against its creator, who may have perCreator such classes.
func (cs *Classrooms) create(app uint32, id tlssig.Room, creator string, perCreator int) *trtc.Error {
	key := classKey(app, id)
	c := &class{stored: storedClass{Key: key, App: app, RoomID: id.ID, StrRoom: id.Str, Creator: creator, Created: time.Now(),
		Counted: perCreator > 0}}
	if shared, _ := cs.sharing(); shared != nil {
		return createShared(shared, c.stored, id, perCreator)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.classes[key] != nil {
		return trtc.Errorf(trtc.CodeIMGroupExists, "classroom %s already exists", id)
	}
	if owned := cs.createdBy[userKey{app, creator}]; perCreator > 0 && owned >= perCreator {
		return tooManyClasses(creator, perCreator)
	}
	if err := cs.Store.putClass(c.stored); err != nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "storing classroom %s: %v", id, err)
	}
	cs.classes[key] = c
	if c.stored.Counted {
		cs.createdBy[userKey{app, creator}]++
	}
	return nil
}

func tooManyClasses(creator string, perCreator int) *trtc.Error {
	return trtc.Errorf(trtc.CodeIMTooManyGroups, "%s has created %d classrooms, the most one user may have; destroy one first", creator, perCreator)
}

// forgetClass drops a destroyed class from this node's classes; false
// when it was gone already.
func (cs *Classrooms) forgetClass(c *class) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.classes[c.stored.Key] != c {
		return false
	}
	delete(cs.classes, c.stored.Key)
	if k := (userKey{c.stored.App, c.stored.Creator}); c.stored.Counted {
		if cs.createdBy[k]--; cs.createdBy[k] <= 0 {
			delete(cs.createdBy, k)
		}
	}
	return true
}

func (cs *Classrooms) find(app uint32, id tlssig.Room) (c *class, e *trtc.Error) {
	if shared, _ := cs.sharing(); shared != nil {
		c, e = cs.findShared(shared, classKey(app, id))
	} else {
		cs.mu.Lock()
		c = cs.classes[classKey(app, id)]
		cs.mu.Unlock()
	}
	if e == nil && c == nil {
		return nil, trtc.Errorf(trtc.CodeIMGroupNotFound, "classroom %s does not exist (create it first) or was destroyed", id)
	}
	return c, e
}

// Destroy ends a class: the creator or an admin may. Its members get
// classroom-destroyed and then leave the closed room; its history goes.
func (cs *Classrooms) Destroy(app trtc.App, id tlssig.Room, by string) *trtc.Error {
	c, e := cs.mayDestroy(app, id, by)
	if e != nil {
		return e
	}
	if shared, _ := cs.sharing(); shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		if err := shared.DestroyClass(ctx, app.SDKAppID, c.stored.Key, c.stored.Creator); err != nil {
			return unavailable("destroying the classroom", err)
		}
		return nil // every node ends its members' room (EndShared)
	}
	c.mu.Lock()
	c.destroyed = true
	pending := c.delivered
	c.mu.Unlock()
	if pending != nil {
		// Messages numbered before the end are stored and delivered
		// first: delivered after, they would reach a class recreated
		// under the same id, and a store after the delete would bring
		// the deleted history back.
		<-pending
	}
	if !cs.forgetClass(c) {
		return nil // a concurrent destroy won: the key may be a new class's now
	}
	cs.ended(c.stored.Key)
	if err := cs.Store.deleteClass(c.stored.Key); err != nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "deleting classroom %s: %v", id, err)
	}
	return nil
}

// mayDestroy finds a class that by may destroy.
func (cs *Classrooms) mayDestroy(app trtc.App, id tlssig.Room, by string) (*class, *trtc.Error) {
	c, e := cs.find(app.SDKAppID, id)
	if e == nil && by != c.stored.Creator && !app.IsAdmin(by) {
		e = trtc.Errorf(trtc.CodeIMNoPermission, "only the creator (%s) or an admin may destroy classroom %s", c.stored.Creator, id)
	}
	return c, e
}

// Ref is how replies and events name a class.
func Ref(id tlssig.Room) map[string]any {
	return map[string]any{"classId": id.ID, "strClassId": id.Str}
}

// ended tells the class's members here that it was destroyed and ends
// their room.
func (cs *Classrooms) ended(key string) {
	room := cs.Rooms.RoomByKey(key)
	if room == nil {
		return
	}
	cs.Rooms.Broadcast(key, trtc.Event{Name: EventDestroyed, Data: Ref(room.ID)})
	cs.Rooms.EndRoom(room)
}

// EventDestroyed tells members their class ended for good.
const EventDestroyed = "classroom-destroyed"

// Info describes a class for joiners and the REST API.
func (cs *Classrooms) Info(app uint32, id tlssig.Room) (creator string, lastSeq uint64, e *trtc.Error) {
	c, e := cs.find(app, id)
	if e != nil {
		return "", 0, e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored.Creator, c.seq, nil
}

// List describes the live classes of an app.
func (cs *Classrooms) List(app uint32) []map[string]any {
	if shared, _ := cs.sharing(); shared != nil {
		return cs.listShared(shared, app)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []map[string]any
	for _, c := range cs.classes {
		if c.stored.App != app {
			continue
		}
		c.mu.Lock()
		out = append(out, c.summary())
		c.mu.Unlock()
	}
	return out
}

func (c *class) summary() map[string]any {
	return map[string]any{"classId": c.stored.RoomID, "strClassId": c.stored.StrRoom,
		"creator": c.stored.Creator, "created": c.stored.Created, "lastSeq": c.seq}
}
