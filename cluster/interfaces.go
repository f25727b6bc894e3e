package cluster

// What a node needs from the rest of the server, beside the sfu it relays
// media into: the rooms that have members here.

// LocalRooms is the room registry of this node (Config.Rooms): a node
// relays remote publishers only into rooms it has members in.
type LocalRooms interface {
	Exists(key string) bool
	Keys() []string // the rooms with members here
}
