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

// A classroom (package classroom) spans the nodes its members are on, so
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
// remembers the sender's clientMsgId for ARGV[5] milliseconds: a retry (on any
// node) gets the first send's number and is not delivered again. It
// returns the number and 1 for a new message, 0 for a retry; -1 for no
// such class.
var appendMessage = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return {-1, 0} end
local first = redis.call("GET", KEYS[5])
if first then return {tonumber(first), 0} end
local seq = redis.call("INCR", KEYS[2])
local msg = '{"seq":' .. seq .. ARGV[1]
local size = tonumber(redis.call("GET", KEYS[4]) or -1)
if size < 0 then -- a history kept before its size was
	size = 0
	for _, m in ipairs(redis.call("LRANGE", KEYS[3], 0, -1)) do size = size + #m end
end
local count = redis.call("RPUSH", KEYS[3], msg)
size = size + #msg
local most, bytes = tonumber(ARGV[2]), tonumber(ARGV[6])
while count > 1 and (count > most or size > bytes) do
	size = size - #redis.call("LPOP", KEYS[3])
	count = count - 1
end
redis.call("SET", KEYS[4], size)
redis.call("SET", KEYS[5], seq, "PX", ARGV[5])
redis.call("PUBLISH", ARGV[3], ARGV[4] .. msg)
return {seq, 1}`)

// classKeys are a class's record, counter, history and the history's
// size in bytes. The class's key goes in base64 (no colons), so no
// class's keys can be another's.
func (d *Directory) classKeys(class string) []string {
	c := keyPart(class)
	return []string{d.key("class", c), d.key("class", c, "seq"), d.key("class", c, "messages"), d.key("class", c, "bytes")}
}

func keyPart(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// createClass stores a class's record KEYS[1] and adds the class ARGV[2]
// to its app's classes KEYS[2]; 0 when it exists. With a bound ARGV[3]
// (> 0) the class counts against its creator: the creator's classes
// KEYS[3] take it, unless they number ARGV[3] already (-1). 1 when
// created. One step, so two nodes cannot both take a creator's last place.
var createClass = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
local most = tonumber(ARGV[3])
if most > 0 then
	if redis.call("SCARD", KEYS[3]) >= most then return -1 end
	redis.call("SADD", KEYS[3], ARGV[2])
end
redis.call("SET", KEYS[1], ARGV[1])
redis.call("SADD", KEYS[2], ARGV[2])
return 1`)

// CreateClass stores a new class's record; created is false when the
// class exists. With perCreator (> 0) the class counts against creator,
// and full is true when the creator has perCreator such classes already.
func (d *Directory) CreateClass(ctx context.Context, app uint32, class, creator string, record []byte, perCreator int) (created, full bool, err error) {
	keys := []string{d.classKeys(class)[0], d.appClasses(app), d.creatorClasses(app, creator)}
	r, err := createClass.Run(ctx, d.rdb, keys, record, class, max(perCreator, 0)).Int()
	if err = wrap(err); err != nil {
		return false, false, err
	}
	return r == 1, r == -1, nil
}

func (d *Directory) appClasses(app uint32) string {
	return d.key("classes", strconv.FormatUint(uint64(app), 10))
}

// creatorClasses is the set of the classes a user of app created.
func (d *Directory) creatorClasses(app uint32, creator string) string {
	return d.key("classes", strconv.FormatUint(uint64(app), 10), "by", keyPart(creator))
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

// DestroyClass removes a class (created by creator) and its history and
// tells every node.
func (d *Directory) DestroyClass(ctx context.Context, app uint32, class, creator string) error {
	p := d.rdb.TxPipeline()
	p.Del(ctx, d.classKeys(class)...)
	p.SRem(ctx, d.appClasses(app), class)
	p.SRem(ctx, d.creatorClasses(app, creator), class)
	p.Publish(ctx, d.key(classesChannel), ClassEvent{Kind: ClassDestroyed, Class: class}.encode()) // in the transaction
	_, err := p.Exec(ctx)
	return wrap(err)
}

// AppendMessage numbers a class's group message (JSON starting with
// {"seq":0), keeps it in the class's history (the newest capacity of
// them, and of those the newest that fit capBytes; the newest always
// stays) and publishes it to every node. id names the send (the sender and
// its clientMsgId): a retry within retryWindow, on any node, gets the
// first send's number and retry true, and is not published again. ok is
// false when the class does not exist.
func (d *Directory) AppendMessage(ctx context.Context, class, id string, msg []byte, capacity, capBytes int, retryWindow time.Duration) (seq uint64, retry, ok bool, err error) {
	if !bytes.HasPrefix(msg, unnumbered) {
		return 0, false, false, ErrNotNumbered
	}
	head := ClassEvent{Kind: ClassMessage, Class: class}.encode()
	keys := append(d.classKeys(class), d.key("class", keyPart(class), "sent", keyPart(id)))
	r, err := appendMessage.Run(ctx, d.rdb, keys, msg[len(unnumbered):], max(capacity, 1),
		d.key(classesChannel), head, max(retryWindow.Milliseconds(), 1), max(capBytes, 1)).Int64Slice()
	if err = wrap(err); err != nil || len(r) != 2 || r[0] < 0 {
		return 0, false, false, err
	}
	return uint64(r[0]), r[1] == 0, true, nil
}

// history reads a page of the messages after number ARGV[1] in one step
// (a send in between would shift the list): at most ARGV[2] messages, and
// those of them that fit ARGV[3] bytes, each counted with a byte more for
// the comma; the first always goes, so a reader paging on moves on. The
// numbers in the list are consecutive, so the first one says where to
// start. It reads in chunks, so a page of small messages out of a long
// history does not copy the history. It returns 1 when more follow, 0
// when not, and then the page.
var history = redis.NewScript(`
local first = redis.call("LINDEX", KEYS[1], 0)
if not first then return {0} end
local head = tonumber(string.match(first, '^{"seq":(%d+)'))
local after, limit, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local from = 0
if after >= head then from = after - head + 1 end
local page, size = {0}, 0
while true do
	local chunk = redis.call("LRANGE", KEYS[1], from, from + 31)
	if #chunk == 0 then return page end
	for _, m in ipairs(chunk) do
		local count = #page - 1
		if count > 0 and (count >= limit or size + #m + 1 > budget) then
			page[1] = 1
			return page
		end
		size = size + #m + 1
		page[#page + 1] = m
	end
	from = from + #chunk
end`)

// History returns a page of a class's stored messages after seq: at most
// limit of them, and those that fit maxBytes (each counted with a byte
// more, for the comma; the first always goes), and whether more follow.
func (d *Directory) History(ctx context.Context, class string, after uint64, limit, maxBytes int) ([]json.RawMessage, bool, error) {
	r, err := history.Run(ctx, d.rdb, d.classKeys(class)[2:3], strconv.FormatUint(after, 10), max(limit, 1), max(maxBytes, 1)).Slice()
	if err = wrap(err); err != nil || len(r) == 0 {
		return nil, false, err
	}
	more, _ := r[0].(int64)
	out := make([]json.RawMessage, 0, len(r)-1)
	for _, m := range r[1:] {
		s, _ := m.(string)
		out = append(out, json.RawMessage(s))
	}
	return out, more == 1, nil
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
