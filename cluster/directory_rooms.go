package cluster

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Rooms and publications. A room's nodes and its publications are sorted
// sets under the room's key; the set of rooms with publications lets a
// node find the rooms it might have to relay.

// sep joins the fields of a publication member; user ids cannot hold it.
const sep = "\n"

// Announce renews the rooms a node takes part in and the tracks it
// publishes (call it at least once per TTL). It never removes anything:
// Withdraw does, or expiry.
func (d *Directory) Announce(ctx context.Context, node string, rooms []string, pubs []Publication) error {
	p := d.rdb.Pipeline()
	for _, r := range rooms {
		d.addLive(p, ctx, d.key("room", r, "nodes"), node)
	}
	for _, pub := range pubs {
		d.addLive(p, ctx, d.key("room", pub.Room, "pubs"), strings.Join([]string{node, pub.User, pub.Kind}, sep))
		d.addLive(p, ctx, d.key("rooms"), pub.Room)
	}
	if p.Len() == 0 {
		return nil
	}
	_, err := p.Exec(ctx)
	return wrap(err)
}

// Withdraw removes a node's publication at once (a publisher left).
func (d *Directory) Withdraw(ctx context.Context, node string, pub Publication) error {
	return wrap(d.rdb.ZRem(ctx, d.key("room", pub.Room, "pubs"), strings.Join([]string{node, pub.User, pub.Kind}, sep)).Err())
}

// LeaveRoom removes a node from a room's nodes at once.
func (d *Directory) LeaveRoom(ctx context.Context, node, room string) error {
	return wrap(d.rdb.ZRem(ctx, d.key("room", room, "nodes"), node).Err())
}

// RoomNodes lists the live nodes that take part in a room.
func (d *Directory) RoomNodes(ctx context.Context, room string) ([]string, error) {
	return d.live(ctx, d.key("room", room, "nodes"))
}

// Rooms lists the rooms with live publications.
func (d *Directory) Rooms(ctx context.Context) ([]string, error) {
	return d.live(ctx, d.key("rooms"))
}

// Publications lists a room's live publications, on every node.
func (d *Directory) Publications(ctx context.Context, room string) ([]Publication, error) {
	ms, err := d.live(ctx, d.key("room", room, "pubs"))
	if err != nil {
		return nil, err
	}
	out := make([]Publication, 0, len(ms))
	for _, m := range ms {
		f := strings.Split(m, sep)
		if len(f) == 3 {
			out = append(out, Publication{Room: room, Node: f[0], User: f[1], Kind: f[2]})
		}
	}
	return out, nil
}

// Owned entries: a user's session and a recordId each belong to one node.
// The owner renews them; only the owner deletes them.

// hold and deleteIfOwner never renew or delete what another node took
// over.
var (
	// hold renews an entry of the caller's, or makes it the caller's when
	// nobody has it (Redis restarted empty, or a claim was lost): the node
	// has the user signed in, or records the recordId.
	hold = redis.NewScript(`local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
if not v then return redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) end
return 0`)
	deleteIfOwner = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
)

// ClaimUser records that user (an app-scoped id such as "1400000001/alice")
// is logged in on node and returns the node it was on before ("" for none,
// or node itself): a different previous node holds a duplicate login that
// must be kicked.
func (d *Directory) ClaimUser(ctx context.Context, user, node string) (previous string, err error) {
	prev, err := d.rdb.SetArgs(ctx, d.key("user", user), node, redis.SetArgs{Get: true, TTL: d.ttl}).Result()
	if err = wrap(err); err != nil {
		return "", err
	}
	return prev, nil
}

// UserNode is the node a user is logged in on ("" for none).
func (d *Directory) UserNode(ctx context.Context, user string) (string, error) {
	n, err := d.rdb.Get(ctx, d.key("user", user)).Result()
	return n, wrap(err)
}

// ReleaseUser forgets a user's login when node still owns it.
func (d *Directory) ReleaseUser(ctx context.Context, user, node string) error {
	return wrap(deleteIfOwner.Run(ctx, d.rdb, []string{d.key("user", user)}, node).Err())
}

// ClaimRecord makes node the recorder of recordID unless another live node
// is; it returns the owner.
func (d *Directory) ClaimRecord(ctx context.Context, recordID, node string) (owner string, err error) {
	k := d.key("record", recordID)
	ok, err := d.rdb.SetNX(ctx, k, node, d.ttl).Result()
	if err = wrap(err); err != nil {
		return "", err
	}
	if ok {
		return node, nil
	}
	owner, err = d.rdb.Get(ctx, k).Result()
	if err = wrap(err); err != nil {
		return "", err
	}
	if owner == "" { // expired between the two calls
		return d.ClaimRecord(ctx, recordID, node)
	}
	return owner, nil
}

// ReleaseRecord ends node's ownership of recordID.
func (d *Directory) ReleaseRecord(ctx context.Context, recordID, node string) error {
	return wrap(deleteIfOwner.Run(ctx, d.rdb, []string{d.key("record", recordID)}, node).Err())
}

// RenewOwned renews the users and recordIds node owns; one that nobody
// owns (Redis restarted empty, a lost claim) becomes its again.
func (d *Directory) RenewOwned(ctx context.Context, node string, users, records []string) error {
	p := d.rdb.Pipeline()
	ms := d.ttl.Milliseconds()
	for _, u := range users {
		hold.Eval(ctx, p, []string{d.key("user", u)}, node, ms)
	}
	for _, r := range records {
		hold.Eval(ctx, p, []string{d.key("record", r)}, node, ms)
	}
	if p.Len() == 0 {
		return nil
	}
	_, err := p.Exec(ctx)
	return wrap(err)
}
