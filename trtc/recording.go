package trtc

import (
	"log/slog"

	"github.com/trtcd/trtcd/record"
)

// RecordParams are a member's recording wishes, from any entry point
// (join's recordId and pureAudioPushMod, WHIP's and RTMP's query).
type RecordParams struct {
	RecordID  string `json:"recordId"`
	PureAudio int    `json:"pureAudio,omitempty"` // pureAudioPushMod: 0 audio and video, 1 audio only, 2 audio only as MP3
}

// Recorder records members who asked for it; record.Recorder is the real
// one.
type Recorder interface {
	Start(record.Request) error
	// Records says whether a recording with recordID runs here;
	// Recording whether one of userID in the room does.
	Records(recordID string) bool
	Recording(roomKey, userID string) bool
}

// startRecording asks rec to record a member who publishes with a
// recordId (again: a publisher back within the resume window continues
// its file), unless another node of the cluster records that recordId.
func startRecording(rec Recorder, rooms *Registry, m *Member, log *slog.Logger) {
	if rec != nil && m.Record.RecordID != "" && rooms.recordsHere(m.Record.RecordID) {
		recordMember(rec, m, log)
	}
}

// recordMember starts (or keeps) the recording of a member.
func recordMember(rec Recorder, m *Member, log *slog.Logger) {
	room := m.Room.ID.Str
	if !m.Room.ID.IsString() {
		room = m.Room.ID.String()
	}
	err := rec.Start(record.Request{SDKAppID: m.App, Room: room, RoomKey: m.Room.Key, UserID: m.UserID,
		RecordID: m.Record.RecordID, PureAudio: m.Record.PureAudio})
	if err != nil && log != nil {
		log.Error("recording did not start", "room", m.Room.Key, "user", m.UserID, "record_id", m.Record.RecordID, "err", err)
	}
}
