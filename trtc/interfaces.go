package trtc

import "context"

// The room core speaks to the rest of trtcd through these interfaces: the
// ways in implement Peer, the media plane MediaRooms, the recorder (through
// the server) Recorder, the cluster (through the server) Cluster.

// Peer is how the room registry reaches a member's client. Both methods
// must return at once: a client that cannot keep up is the peer's problem.
type Peer interface {
	Notify(Event)
	// Kick tells the client why it is being removed and closes it.
	Kick(e *Error)
}

// Recorder records members who asked for it; record.Recorder, adapted by
// the server, is the real one.
type Recorder interface {
	Start(RecordRequest) error
	// Records says whether a recording with recordID runs here;
	// Recording whether one of userID in the room does.
	Records(recordID string) bool
	Recording(roomKey, userID string) bool
}

// MediaRooms is what the gate asks the media plane (the sfu).
type MediaRooms interface {
	// HasRoom reports whether the media plane has the room: a publisher
	// without members here (an RTMP pusher's room on another node).
	HasRoom(key string) bool
}

// RoomLeaver is a peer that can leave its room and stay connected (a
// WebSocket client stays signed in for its C2C messages).
type RoomLeaver interface {
	LeaveRoom(reason string)
}

// Cluster is what the registry needs from the cluster of trtcd nodes it
// federates rooms over (JoinCluster).
type Cluster interface {
	// Node is this node's id.
	Node() string
	// Send carries a local change to the other nodes; it is called with
	// the registry's lock held, so it must only queue.
	Send(RemoteEvent)
	// Fetch makes a publisher on another node playable here (the relay
	// starts and its tracks arrive); an error means the directory could
	// not be asked.
	Fetch(ctx context.Context, roomKey, publisher string) error
	// Place says which node should serve a room's next member.
	Place(ctx context.Context, roomKey string) (Placement, error)
	// ClaimRecord reports whether this node records recordID: the first
	// node to claim it does.
	ClaimRecord(recordID string) bool
}
