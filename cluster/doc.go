// Package cluster lets one room span several trtcd nodes. Redis is the
// directory (which nodes are alive, which node publishes what in a room,
// where a user is logged in, which node records a recordId) and a QUIC
// relay carries media between nodes: a node with a local audience for a
// publisher on another node subscribes over the relay, and publishes what
// arrives as an ordinary sfu track, so its local viewers (WHEP, /ws, FLV,
// the recorder) use the same fan-out as for a local publisher.
//
// Every directory entry either carries a TTL that its owner's heartbeat
// renews or is a sorted-set member scored with its expiry time, so a node
// that dies (kill -9) disappears from the directory by itself.
//
// What a node needs from the rest of the server beside the sfu (the rooms
// with members here) is in interfaces.go.
package cluster
