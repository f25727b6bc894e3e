package classroom

import (
	"context"
	"encoding/json"
	"time"
)

// What classrooms need from the rest of trtcd: a Directory on a cluster
// (package cluster's Redis, through the server), and the room core's
// trtc.Peer for every signed-in user.

// Directory keeps a cluster's classes.
type Directory interface {
	// CreateClass stores a class's record; created is false when the
	// class exists. With perCreator (> 0) the class counts against creator
	// (a userId), and full is true when the creator has perCreator such
	// classes already.
	CreateClass(ctx context.Context, app uint32, class, creator string, record []byte, perCreator int) (created, full bool, err error)
	Class(ctx context.Context, class string) (record []byte, lastSeq uint64, ok bool, err error)
	Classes(ctx context.Context, app uint32) ([]string, error) // their keys
	// DestroyClass removes a class (creator: the one it was created
	// under); every node hears of it (EndShared).
	DestroyClass(ctx context.Context, app uint32, class, creator string) error
	// AppendMessage numbers a group message (JSON starting {"seq":0),
	// stores it and publishes it to every node; false: no such class. id
	// names the send: a retry with the same id within retryWindow, on any
	// node, gets the first send's number and retry true instead.
	AppendMessage(ctx context.Context, class, id string, msg []byte, capacity, capBytes int, retryWindow time.Duration) (seq uint64, retry, ok bool, err error)
	// History returns the messages after seq that fit a page of limit
	// messages and maxBytes (each counted with one byte more, for the
	// comma; the first always fits), and whether more follow.
	History(ctx context.Context, class string, after uint64, limit, maxBytes int) ([]json.RawMessage, bool, error)
	// SignIn records on which node and since when (unix nanoseconds) a
	// user is signed in; the node it was signed in on before hears of it
	// (SignedInElsewhere). ReleaseUser forgets it when it is still node's.
	// Users are UserRef strings.
	SignIn(ctx context.Context, user, node string, since int64) error
	ReleaseUser(ctx context.Context, user, node string) error
	// SendC2C publishes msg to the node user is signed in on; false when
	// it is signed in nowhere.
	SendC2C(ctx context.Context, user string, msg []byte) (bool, error)
}
