package trtc

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Tencent IM's codes where one fits a classroom or message failure
// (docs/errors.md).
const (
	CodeIMNoPermission    Code = 10007 // not the class's creator, or not in a class
	CodeIMGroupNotFound   Code = 10010 // no such class, or it was destroyed
	CodeIMGroupExists     Code = 10021 // createClassroom of an existing class
	CodeIMRateLimited     Code = 10023 // a sender over its message rate
	CodeIMTooManyGroups   Code = 10037 // a user who created ClassesPerUser classes creates another
	CodeIMUnknownReceiver Code = 20003 // a C2C receiver who is not signed in
	CodeIMMessageTooLong  Code = 80002 // over the message size limit
)

// BoardExt marks group custom messages that carry whiteboard data.
const BoardExt = "TXWhiteBoardExt"

// Message is a C2C or group message as members receive it.
type Message struct {
	Seq         uint64 `json:"seq"` // the class's sequence number; 0 for C2C
	Time        int64  `json:"time"`
	From        string `json:"from"`
	To          string `json:"to,omitempty"`
	ClassID     uint32 `json:"classId,omitempty"`
	StrClassID  string `json:"strClassId,omitempty"`
	Type        string `json:"type"` // text or custom
	Text        string `json:"text,omitempty"`
	Data        string `json:"data,omitempty"`
	Ext         string `json:"ext,omitempty"`
	ClientMsgID string `json:"clientMsgId"`
}

// ClassLimits bound classes and their messages; a zero field takes its
// default.
type ClassLimits struct {
	MaxMessageBytes   int     // text or data [12 KB]
	MessagesPerSecond float64 // per sender [20]
	MessageBurst      int     // [40]
	HistoryCap        int     // stored group messages per class [10000]
	// HistoryReplyBytes bounds one history reply, frame included: it
	// carries the whole messages that fit (at least one) and more: true.
	HistoryReplyBytes int // [1 MiB]
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

// DefaultClassLimits are Tencent IM's message size and a classroom's pace.
var DefaultClassLimits = ClassLimits{MaxMessageBytes: 12 << 10, MessagesPerSecond: 20, MessageBurst: 40, HistoryCap: 10000,
	HistoryReplyBytes: 1 << 20, ClassesPerUser: 20, RetryCacheEntries: 10000, RetryWindow: 10 * time.Minute}

// withDefaults fills the zero fields from DefaultClassLimits.
func (l ClassLimits) withDefaults() ClassLimits {
	d := DefaultClassLimits
	for _, f := range []struct{ v, def *int }{{&l.MaxMessageBytes, &d.MaxMessageBytes}, {&l.MessageBurst, &d.MessageBurst},
		{&l.HistoryCap, &d.HistoryCap}, {&l.HistoryReplyBytes, &d.HistoryReplyBytes}, {&l.ClassesPerUser, &d.ClassesPerUser},
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
	Rooms  *Registry
	Store  *ClassStore
	Limits ClassLimits
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
	// classes map (a cluster: classroom_shared.go); node is this node.
	shared SharedClasses
	node   string
}

// class is one classroom.
type class struct {
	stored storedClass

	mu        sync.Mutex // orders the class's messages
	seq       uint64
	destroyed bool
}

// signedIn is a signed-in connection: where a user's C2C messages go.
type signedIn struct {
	peer    Peer
	limiter *rate.Limiter
	since   int64 // unix nanoseconds: of two sign-ins on two nodes the later stays
}

// LoadClassrooms restores the classes kept in store.
func LoadClassrooms(rooms *Registry, store *ClassStore, limits ClassLimits) (*Classrooms, error) {
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
func (cs *Classrooms) SignIn(app uint32, user string, peer Peer) (old Peer) {
	old, since := cs.signIn(app, user, peer)
	cs.claimShared(app, user, since) // where other nodes' C2C messages find the user
	return old
}

func (cs *Classrooms) signIn(app uint32, user string, peer Peer) (old Peer, since int64) {
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
func (cs *Classrooms) SignOut(app uint32, user string, peer Peer) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if p := cs.peers[userKey{app, user}]; p != nil && p.peer == peer {
		delete(cs.peers, userKey{app, user})
		if cs.shared != nil {
			go cs.releaseShared(app, user) // SignOut runs under the connection's teardown
		}
	}
}

func classKey(app uint32, id tlssig.Room) string { return RoomKey(app, id) }

// Create registers a class for the application server (trusted: not
// bound by ClassesPerUser); its creator may destroy it.
func (cs *Classrooms) Create(app uint32, id tlssig.Room, creator string) *Error {
	return cs.create(app, id, creator, 0)
}

// CreateAsUser registers a class a user asked for: a user who has
// ClassesPerUser classes already gets 10037 until it destroys one.
func (cs *Classrooms) CreateAsUser(app uint32, id tlssig.Room, creator string) *Error {
	return cs.create(app, id, creator, cs.Limits.ClassesPerUser)
}

// create registers a class. With perCreator (> 0) the class counts
// against its creator, who may have perCreator such classes.
func (cs *Classrooms) create(app uint32, id tlssig.Room, creator string, perCreator int) *Error {
	key := classKey(app, id)
	c := &class{stored: storedClass{Key: key, App: app, RoomID: id.ID, StrRoom: id.Str, Creator: creator, Created: time.Now(),
		Counted: perCreator > 0}}
	if shared, _ := cs.sharing(); shared != nil {
		return createShared(shared, c.stored, id, perCreator)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.classes[key] != nil {
		return Errorf(CodeIMGroupExists, "classroom %s already exists", id)
	}
	if owned := cs.createdBy[userKey{app, creator}]; perCreator > 0 && owned >= perCreator {
		return tooManyClasses(creator, perCreator)
	}
	if err := cs.Store.putClass(c.stored); err != nil {
		return Errorf(CodeParamCheckFailed, "storing classroom %s: %v", id, err)
	}
	cs.classes[key] = c
	if c.stored.Counted {
		cs.createdBy[userKey{app, creator}]++
	}
	return nil
}

func tooManyClasses(creator string, perCreator int) *Error {
	return Errorf(CodeIMTooManyGroups, "%s has created %d classrooms, the most one user may have; destroy one first", creator, perCreator)
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

func (cs *Classrooms) find(app uint32, id tlssig.Room) (c *class, e *Error) {
	if shared, _ := cs.sharing(); shared != nil {
		c, e = cs.findShared(shared, classKey(app, id))
	} else {
		cs.mu.Lock()
		c = cs.classes[classKey(app, id)]
		cs.mu.Unlock()
	}
	if e == nil && c == nil {
		return nil, Errorf(CodeIMGroupNotFound, "classroom %s does not exist (create it first) or was destroyed", id)
	}
	return c, e
}

// Destroy ends a class: the creator or an admin may. Its members get
// classroom-destroyed and then leave the closed room; its history goes.
func (cs *Classrooms) Destroy(app App, id tlssig.Room, by string) *Error {
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
	c.mu.Unlock()
	if !cs.forgetClass(c) {
		return nil // a concurrent destroy won: the key may be a new class's now
	}
	cs.ended(c.stored.Key)
	if err := cs.Store.deleteClass(c.stored.Key); err != nil {
		return Errorf(CodeParamCheckFailed, "deleting classroom %s: %v", id, err)
	}
	return nil
}

// mayDestroy finds a class that by may destroy.
func (cs *Classrooms) mayDestroy(app App, id tlssig.Room, by string) (*class, *Error) {
	c, e := cs.find(app.SDKAppID, id)
	if e == nil && by != c.stored.Creator && !app.IsAdmin(by) {
		e = Errorf(CodeIMNoPermission, "only the creator (%s) or an admin may destroy classroom %s", c.stored.Creator, id)
	}
	return c, e
}

func classRef(id tlssig.Room) map[string]any {
	return map[string]any{"classId": id.ID, "strClassId": id.Str}
}

// ended tells the class's members here that it was destroyed and ends
// their room.
func (cs *Classrooms) ended(key string) {
	room := cs.Rooms.roomByKey(key)
	if room == nil {
		return
	}
	cs.Rooms.Broadcast(key, Event{Name: EventClassroomDestroyed, Data: classRef(room.ID)})
	cs.Rooms.EndRoom(room)
}

// EventClassroomDestroyed tells members their class ended for good.
const EventClassroomDestroyed = "classroom-destroyed"

// Info describes a class for joiners and the REST API.
func (cs *Classrooms) Info(app uint32, id tlssig.Room) (creator string, lastSeq uint64, e *Error) {
	c, e := cs.find(app, id)
	if e != nil {
		return "", 0, e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored.Creator, c.seq, nil
}

// SendRequest is a message to send.
type SendRequest struct {
	To          string `json:"to"`
	Type        string `json:"type"`
	Text        string `json:"text"`
	Data        string `json:"data"`
	Ext         string `json:"ext"`
	ClientMsgID string `json:"clientMsgId"`
}

// Send delivers a message from a signed-in user: C2C when To is set, else
// to the class of the room m is in (m may be nil for C2C).
func (cs *Classrooms) Send(app uint32, from string, m *Member, req SendRequest) (Message, *Error) {
	if e := cs.check(req); e != nil {
		return Message{}, e
	}
	cs.mu.Lock()
	sender := cs.peers[userKey{app, from}]
	cs.mu.Unlock()
	if sender == nil {
		return Message{}, Errorf(CodeParamCheckFailed, "sign in (login) before sending messages")
	}
	sendID := retryKey{app, from, req.ClientMsgID}
	if prev, ok := cs.sent.get(sendID); ok {
		// A retry: delivered already.
		return Message{Seq: prev.Seq, Time: prev.Time, ClientMsgID: req.ClientMsgID}, nil
	}
	if !sender.limiter.Allow() {
		return Message{}, Errorf(CodeIMRateLimited, "more than %.0f messages per second", cs.Limits.MessagesPerSecond)
	}
	msg := Message{Time: time.Now().UnixMilli(), From: from, To: req.To, Type: req.Type, Text: req.Text, Data: req.Data,
		Ext: req.Ext, ClientMsgID: req.ClientMsgID}
	var e *Error
	if req.To != "" {
		e = cs.sendC2C(app, sender, msg)
	} else {
		msg, e = cs.sendGroup(app, m, msg)
	}
	if e == nil {
		cs.sent.add(sendID, sentMessage{Seq: msg.Seq, Time: msg.Time})
	}
	return msg, e
}

func (cs *Classrooms) check(req SendRequest) *Error {
	switch {
	case req.Type != "text" && req.Type != "custom":
		return Errorf(CodeParamCheckFailed, "message type %q: want text or custom", req.Type)
	case req.ClientMsgID == "" || len(req.ClientMsgID) > 64:
		return Errorf(CodeParamCheckFailed, "clientMsgId must be 1 to 64 characters")
	case len(req.Text)+len(req.Data)+len(req.Ext) > cs.Limits.MaxMessageBytes:
		return Errorf(CodeIMMessageTooLong, "the message is %d bytes; the limit is %d", len(req.Text)+len(req.Data)+len(req.Ext), cs.Limits.MaxMessageBytes)
	}
	return nil
}

func (cs *Classrooms) sendC2C(app uint32, sender *signedIn, msg Message) *Error {
	cs.mu.Lock()
	to, shared := cs.peers[userKey{app, msg.To}], cs.shared
	cs.mu.Unlock()
	if to == nil && shared != nil {
		return cs.sendC2CShared(shared, app, msg)
	}
	if to == nil {
		return Errorf(CodeIMUnknownReceiver, "user %q is not signed in", msg.To)
	}
	to.peer.Notify(Event{Name: EventMessage, Data: msg})
	return nil
}

// EventMessage carries a C2C or group message.
const EventMessage = "message"

// sendGroup numbers, delivers and stores a group message. The class's lock
// makes numbering and delivery one step, so every member's queue holds the
// messages in sequence order; the reply waits until the message is stored.
func (cs *Classrooms) sendGroup(app uint32, m *Member, msg Message) (Message, *Error) {
	if m == nil {
		return msg, Errorf(CodeIMNoPermission, "join a classroom before sending group messages")
	}
	msg.ClassID, msg.StrClassID = m.Room.ID.ID, m.Room.ID.Str
	if shared, _ := cs.sharing(); shared != nil {
		// The script finds the class itself; recorded where it is delivered (DeliverGroup).
		return cs.appendShared(shared, classKey(app, m.Room.ID), msg)
	}
	c, e := cs.find(app, m.Room.ID)
	if e != nil {
		return msg, e
	}
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return msg, Errorf(CodeIMGroupNotFound, "classroom %s was destroyed", m.Room.ID)
	}
	c.seq++
	msg.Seq = c.seq
	data := marshalUnescaped(msg)
	stored := cs.Store.append(c.stored.Key, msg.Seq, data, cs.Limits.HistoryCap)
	cs.Rooms.Broadcast(c.stored.Key, Event{Name: EventMessage, Data: json.RawMessage(data)})
	c.mu.Unlock()
	cs.recordMessage(c, m, msg)
	if err := <-stored; err != nil {
		return msg, Errorf(CodeParamCheckFailed, "storing the message: %v", err)
	}
	return msg, nil
}

// recordMessage hands a group message to a recording of the sender's room.
func (cs *Classrooms) recordMessage(c *class, m *Member, msg Message) {
	if f := cs.OnGroupMessage; f != nil && m.Room.RecordID != "" {
		f(c.stored.Key, m.Room.RecordID, msg)
	}
}

// History returns a class's stored messages after seq: at most limit (and
// 1000) of them, and those that fit a reply of HistoryReplyBytes, with
// more true when others follow.
func (cs *Classrooms) History(app uint32, id tlssig.Room, after uint64, limit int) (map[string]any, *Error) {
	c, e := cs.find(app, id)
	if e != nil {
		return nil, e
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	msgs, more, err := cs.history(c.stored.Key, after, limit, historyBudget(cs.Limits.HistoryReplyBytes))
	if err != nil {
		if shared, _ := cs.sharing(); shared != nil {
			return nil, unavailable("reading history", err)
		}
		return nil, Errorf(CodeParamCheckFailed, "reading history: %v", err)
	}
	c.mu.Lock()
	last := c.seq
	c.mu.Unlock()
	if msgs == nil {
		msgs = []json.RawMessage{}
	}
	return map[string]any{"messages": msgs, "lastSeq": last, "more": more}, nil
}

func (cs *Classrooms) history(key string, after uint64, limit, maxBytes int) ([]json.RawMessage, bool, error) {
	if shared, _ := cs.sharing(); shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		return shared.History(ctx, key, after, limit, maxBytes)
	}
	return cs.Store.history(key, after, limit, maxBytes)
}

// historyFrameRoom is what a history reply's frame takes around its
// messages (type, id, code, lastSeq, more): HistoryReplyBytes bounds the
// whole frame.
const historyFrameRoom = 1 << 10

// historyBudget is the bytes a reply's messages may take, each counted
// with the comma after it.
func historyBudget(replyBytes int) int { return max(replyBytes-historyFrameRoom, 1) }

// pageFits says whether a message of n bytes joins a history page that
// holds count messages of size bytes. A page always takes one message, so
// a client paging with afterSeq moves on whatever the limits.
func pageFits(count, size, n, limit, maxBytes int) bool {
	return count == 0 || (count < limit && size+n+1 <= maxBytes)
}

// marshalUnescaped is JSON without HTML escaping: a message of 12 KB of
// "<" stays 12 KB stored and sent, where escaping would make it 72 KB.
func marshalUnescaped(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil // only values that cannot be JSON: not a Message
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
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
