package cluster

import (
	"encoding/binary"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/replay"
)

// The near side of the media path: the relay socket's reader (quic-go's,
// in relaySocket.ReadFrom) opens each sealed datagram itself and writes
// its packets to their tracks, with no hand-off to another goroutine. On
// the QUIC datagram path the same packet took two (to the connection's
// loop, then to the demultiplexer) and an acknowledgement back.

// mediaIn opens one peer connection's sealed datagrams and routes their
// records to that connection's relayed tracks.
type mediaIn struct {
	key    *mediaKey
	demux  *demux
	window replay.Window // the socket reader's alone
	bytes  atomic.Uint64 // of the datagrams taken
}

// mediaReceivers are the node's mediaIns by key id. Only the socket's
// reader delivers; connections add and remove theirs.
type mediaReceivers struct {
	log    *slog.Logger
	totals *relayStats // the node's: sealed datagrams refused count here

	mu    sync.Mutex                          // serialises changes
	byKey atomic.Pointer[map[uint32]*mediaIn] // immutable; replaced on change
}

func newMediaReceivers(log *slog.Logger, totals *relayStats) *mediaReceivers {
	r := &mediaReceivers{log: log, totals: totals}
	r.byKey.Store(&map[uint32]*mediaIn{})
	return r
}

// add routes datagrams sealed with key to d's tracks. False when another
// connection's key has the same id (one in 2³² per pair): that connection
// then stays on QUIC datagrams.
func (r *mediaReceivers) add(key *mediaKey, d *demux) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if (*r.byKey.Load())[key.id] != nil {
		return false
	}
	next := maps.Clone(*r.byKey.Load())
	next[key.id] = &mediaIn{key: key, demux: d}
	r.byKey.Store(&next)
	return true
}

func (r *mediaReceivers) remove(key *mediaKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := (*r.byKey.Load())[key.id]; in == nil || in.key != key {
		return
	}
	next := maps.Clone(*r.byKey.Load())
	delete(next, key.id)
	r.byKey.Store(&next)
}

// deliver opens one sealed datagram, b (changed in place), and writes its
// packets to their tracks. A datagram that does not open, or whose counter
// was seen already or is too old to tell, is dropped and counted: it is
// forged, damaged, or a replay. A panic (a bug the peer's packets reach)
// drops the rest of the datagram, counted and logged; the socket's reader
// goes on.
func (r *mediaReceivers) deliver(b []byte) {
	defer panics.Recover(panics.Relay, r.log)
	if len(b) < mediaHeader+mediaTag {
		r.totals[countForged].Add(1)
		return
	}
	in := (*r.byKey.Load())[mediaKeyID(b)]
	if in == nil {
		r.totals[countForged].Add(1) // or a connection that just ended here
		return
	}
	counter := mediaCounter(b)
	if !in.window.Fresh(counter) {
		r.totals[countReplayed].Add(1)
		return
	}
	records, ok := in.key.open(b)
	if !ok {
		r.totals[countForged].Add(1)
		return
	}
	in.window.Mark(counter)
	in.bytes.Add(uint64(len(b)))
	in.demux.deliverRecords(records)
}

// deliverRecords writes each record's packet to the track its stream id
// names. Records are well-formed (the datagram was sealed by the peer);
// a short one ends the datagram.
func (d *demux) deliverRecords(b []byte) {
	tracks := *d.tracks.Load()
	for len(b) >= mediaRecordHdr {
		id, size := binary.BigEndian.Uint32(b), int(binary.BigEndian.Uint16(b[4:]))
		b = b[mediaRecordHdr:]
		if size > len(b) {
			return
		}
		if in := tracks[id]; in != nil {
			in.write(b[:size], countSealed)
		} // else a track that ended here but not yet there
		b = b[size:]
	}
}
