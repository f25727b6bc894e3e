package trtc

import (
	"context"
	"log/slog"

	"github.com/trtcd/trtcd/internal/panics"
)

// On a cluster a recordId is recorded on one node, the first to claim it in
// the directory: a member on another node who publishes with it is
// recorded there too, through the relay, so the business gets one node's
// files (and callbacks) for it.

// recordsHere says whether this node records recordID (alone: always).
func (r *Registry) recordsHere(recordID string) bool {
	claim := r.recordClaim()
	return claim == nil || claim(recordID)
}

// The registry's lock is taken with a deferred unlock only (see
// ApplyRemote): these read what the claim and the recorder are now.
func (r *Registry) recordClaim() func(recordID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.claim
}

func (r *Registry) remoteRecorder() Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recorder
}

// RecordUnclaimed records the local members who publish with a recordId
// that no node records any more (its recording node stopped) when this
// node can claim it; the server calls it every heartbeat.
func (r *Registry) RecordUnclaimed(log *slog.Logger) {
	rec, publishing := r.remoteRecorder(), r.publishingRecorded()
	for _, m := range publishing {
		if rec != nil && !rec.Recording(m.Room.Key, m.UserID) && r.recordsHere(m.Record.RecordID) {
			recordMember(rec, m, log)
		}
	}
}

// publishingRecorded lists the local members who publish with a recordId.
func (r *Registry) publishingRecorded() []*Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	var publishing []*Member
	for _, room := range r.rooms {
		for _, m := range room.members {
			if m.Record.RecordID != "" && (m.info.Audio || m.info.Video) {
				publishing = append(publishing, m)
			}
		}
	}
	return publishing
}

// RecordIDOf is the recordId a room's members record with, here or on
// other nodes ("" for none).
func (r *Registry) RecordIDOf(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if room := r.rooms[key]; room != nil && room.RecordID != "" {
		return room.RecordID
	}
	for _, m := range r.remote[key] {
		if m.recordID != "" {
			return m.recordID
		}
	}
	return ""
}

// recordRemote records the members of ev (an event or a roster) that
// publish with a recordId this node records. A recording already running
// is only kept alive, so rosters repair a missed start.
func (r *Registry) recordRemote(ev RemoteEvent) {
	rec := r.remoteRecorder()
	if rec == nil {
		return
	}
	for _, m := range append([]RemoteEvent{ev}, ev.Members...) {
		if m.Record == nil || !(m.Info.Audio || m.Info.Video) || rec.Recording(m.Room, m.User) || !rec.Records(m.Record.RecordID) {
			continue
		}
		// Relayed here, whoever else watches; off the bus's goroutine, so
		// under a recover of its own.
		panics.Go(panics.Cluster, nil, func() { r.Fetch(context.Background(), m.Room, m.User) })
		app, room, ok := splitRoomKey(m.Room)
		if !ok {
			continue
		}
		rec.Start(RecordRequest{SDKAppID: app, Room: room, RoomKey: m.Room, UserID: m.User,
			RecordID: m.Record.RecordID, PureAudio: m.Record.PureAudio})
	}
}
