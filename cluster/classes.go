package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A classroom (package signaling) spans the nodes its members are on, so
// its state lives in the directory: the class record, its message counter
// and its history. Redis numbers, stores and publishes each group message
// in one script, so every node hears a class's messages in sequence order
// on the classes channel, and delivers them to its own members. C2C
// messages go to the node the receiver is signed in on. These keys are not
// a node's: they live until the class is destroyed (run Redis with
// persistence to keep classes across a Redis restart).

// classesChannel carries ClassEvents to every node, in the order published.
const classesChannel = "classes"

// The kinds of ClassEvent.
const (
	ClassMessage   = "message"   // Body is a group message, numbered
	ClassDestroyed = "destroyed" // the class ended
	ClassC2C       = "c2c"       // Body is a C2C message for User, signed in on Node
	ClassSignIn    = "signin"    // User signed in on Node at Body (unix nanoseconds): older sign-ins elsewhere end
)

// ClassEvent is a class's news for every node.
type ClassEvent struct {
	Kind  string
	Class string // the class's key
	User  string // C2C: the receiver (app-scoped, "1400000001/alice")
	Node  string // C2C: the node the receiver is signed in on
	Body  []byte
}

// classEventHeader is an event's first line (JSON escapes line breaks, so
// the first one ends it); the body follows as it is.
type classEventHeader struct {
	Kind  string `json:"k"`
	Class string `json:"c,omitempty"`
	User  string `json:"u,omitempty"`
	Node  string `json:"n,omitempty"`
}

func (e ClassEvent) encode() string {
	h, _ := json.Marshal(classEventHeader{e.Kind, e.Class, e.User, e.Node})
	return string(h) + "\n" + string(e.Body)
}

func parseClassEvent(s string) (ClassEvent, bool) {
	line, body, ok := strings.Cut(s, "\n")
	var h classEventHeader
	if !ok || json.Unmarshal([]byte(line), &h) != nil {
		return ClassEvent{}, false
	}
	return ClassEvent{Kind: h.Kind, Class: h.Class, User: h.User, Node: h.Node, Body: []byte(body)}, true
}

// ErrNotNumbered is a message that does not start with {"seq":0: the
// script writes the class's number there.
var ErrNotNumbered = errors.New(`cluster: a group message must start with {"seq":0`)

var unnumbered = []byte(`{"seq":0`)

// appendMessage checks that the class exists, numbers the message, keeps
// the newest ARGV[2] of its history and publishes it, in one step: the
// order of the numbers is the order every node hears them in. KEYS[4]
// remembers the sender's clientMsgId for ARGV[5] seconds: a retry (on any
// node) gets the first send's number and is not delivered again. It
// returns the number and 1 for a new message, 0 for a retry; -1 for no
// such class.
var appendMessage = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return {-1, 0} end
local first = redis.call("GET", KEYS[4])
if first then return {tonumber(first), 0} end
local seq = redis.call("INCR", KEYS[2])
local msg = '{"seq":' .. seq .. ARGV[1]
redis.call("RPUSH", KEYS[3], msg)
redis.call("LTRIM", KEYS[3], -tonumber(ARGV[2]), -1)
redis.call("SET", KEYS[4], seq, "EX", ARGV[5])
redis.call("PUBLISH", ARGV[3], ARGV[4] .. msg)
return {seq, 1}`)

// retryWindow is how long a clientMsgId is remembered for retries.
const retryWindow = 10 * time.Minute

// classKeys are a class's record, counter and history. The class's key
// goes in base64 (no colons), so no class's keys can be another's.
func (d *Directory) classKeys(class string) []string {
	c := keyPart(class)
	return []string{d.key("class", c), d.key("class", c, "seq"), d.key("class", c, "messages")}
}

func keyPart(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// CreateClass stores a new class's record; false when the class exists.
func (d *Directory) CreateClass(ctx context.Context, app uint32, class string, record []byte) (bool, error) {
	ok, err := d.rdb.SetNX(ctx, d.classKeys(class)[0], record, 0).Result()
	if err = wrap(err); err != nil || !ok {
		return false, err
	}
	return true, wrap(d.rdb.SAdd(ctx, d.appClasses(app), class).Err())
}

func (d *Directory) appClasses(app uint32) string {
	return d.key("classes", strconv.FormatUint(uint64(app), 10))
}

// Class is a class's record and its last message number; ok is false when
// there is no such class.
func (d *Directory) Class(ctx context.Context, class string) (record []byte, lastSeq uint64, ok bool, err error) {
	keys := d.classKeys(class)
	vals, err := d.rdb.MGet(ctx, keys[0], keys[1]).Result()
	if err = wrap(err); err != nil || vals[0] == nil {
		return nil, 0, false, err
	}
	record = []byte(vals[0].(string))
	if s, ok := vals[1].(string); ok {
		lastSeq, _ = strconv.ParseUint(s, 10, 64)
	}
	return record, lastSeq, true, nil
}

// Classes are the keys of an app's classes.
func (d *Directory) Classes(ctx context.Context, app uint32) ([]string, error) {
	names, err := d.rdb.SMembers(ctx, d.appClasses(app)).Result()
	return names, wrap(err)
}

// DestroyClass removes a class and its history and tells every node.
func (d *Directory) DestroyClass(ctx context.Context, app uint32, class string) error {
	p := d.rdb.TxPipeline()
	p.Del(ctx, d.classKeys(class)...)
	p.SRem(ctx, d.appClasses(app), class)
	p.Publish(ctx, d.key(classesChannel), ClassEvent{Kind: ClassDestroyed, Class: class}.encode()) // in the transaction
	_, err := p.Exec(ctx)
	return wrap(err)
}

// AppendMessage numbers a class's group message (JSON starting with
// {"seq":0), keeps it in the class's history (the newest capacity of
// them) and publishes it to every node. id names the send (the sender and
// its clientMsgId): a retry within ten minutes, on any node, gets the
// first send's number and retry true, and is not published again. ok is
// false when the class does not exist.
func (d *Directory) AppendMessage(ctx context.Context, class, id string, msg []byte, capacity int) (seq uint64, retry, ok bool, err error) {
	if !bytes.HasPrefix(msg, unnumbered) {
		return 0, false, false, ErrNotNumbered
	}
	head := ClassEvent{Kind: ClassMessage, Class: class}.encode()
	keys := append(d.classKeys(class), d.key("class", keyPart(class), "sent", keyPart(id)))
	r, err := appendMessage.Run(ctx, d.rdb, keys, msg[len(unnumbered):], max(capacity, 1),
		d.key(classesChannel), head, int(retryWindow.Seconds())).Int64Slice()
	if err = wrap(err); err != nil || len(r) != 2 || r[0] < 0 {
		return 0, false, false, err
	}
	return uint64(r[0]), r[1] == 0, true, nil
}

// history reads up to ARGV[2]+1 messages after number ARGV[1] in one step
// (a send in between would shift the list): the numbers in the list are
// consecutive, so the first one says where to start.
var history = redis.NewScript(`
local first = redis.call("LINDEX", KEYS[1], 0)
if not first then return {} end
local head = tonumber(string.match(first, '^{"seq":(%d+)'))
local after = tonumber(ARGV[1])
local from = 0
if after >= head then from = after - head + 1 end
return redis.call("LRANGE", KEYS[1], from, from + tonumber(ARGV[2]))`)

// History returns up to limit of a class's stored messages after seq, and
// whether more follow.
func (d *Directory) History(ctx context.Context, class string, after uint64, limit int) ([]json.RawMessage, bool, error) {
	items, err := history.Run(ctx, d.rdb, d.classKeys(class)[2:], strconv.FormatUint(after, 10), limit).StringSlice()
	if err = wrap(err); err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	out := make([]json.RawMessage, len(items))
	for i, s := range items {
		out[i] = json.RawMessage(s)
	}
	return out, more, nil
}

// SignIn records that user (app-scoped) signed in on node at since (unix
// nanoseconds) and, when it was signed in on another node, tells that node
// to end the older session.
func (d *Directory) SignIn(ctx context.Context, user, node string, since int64) error {
	prev, err := d.ClaimUser(ctx, user, node)
	if err != nil || prev == "" || prev == node {
		return err
	}
	ev := ClassEvent{Kind: ClassSignIn, User: user, Node: node, Body: strconv.AppendInt(nil, since, 10)}
	return d.publishClassEvent(ctx, ev)
}

// publishClassEvent tells every node.
func (d *Directory) publishClassEvent(ctx context.Context, ev ClassEvent) error {
	return wrap(d.rdb.Publish(ctx, d.key(classesChannel), ev.encode()).Err())
}

// SendC2C publishes a C2C message to the node user is signed in on (see
// ClaimUser); false when user is signed in nowhere.
func (d *Directory) SendC2C(ctx context.Context, user string, msg []byte) (bool, error) {
	node, err := d.UserNode(ctx, user)
	if err != nil || node == "" {
		return false, err
	}
	ev := ClassEvent{Kind: ClassC2C, User: user, Node: node, Body: msg}
	return true, d.publishClassEvent(ctx, ev)
}
