package trtc

import (
	"errors"
	"fmt"
	"log/slog"
)

// RecordParams are a member's recording wishes, from any entry point
// (join's recordId and pureAudioPushMod, WHIP's and RTMP's query).
type RecordParams struct {
	RecordID  string `json:"recordId"`
	PureAudio int    `json:"pureAudio,omitempty"` // pureAudioPushMod: 0 audio and video, 1 audio only, 2 audio only as MP3
}

// RecordRequest asks the recorder to record a member; it has the fields of
// record.Request, in its order, so the server converts one to the other.
type RecordRequest struct {
	SDKAppID  uint32
	Room      string // as the client gave it (numeric or string id)
	RoomKey   string // the media plane's room key
	UserID    string
	RecordID  string // the business recordId
	PureAudio int    // pureAudioPushMod: 1 audio only (MP4), 2 an MP3
}

// StartRecording asks rec to record a member who publishes with a
// recordId (again: a publisher back within the resume window continues
// its file), unless another node of the cluster records that recordId.
func StartRecording(rec Recorder, rooms *Registry, m *Member, log *slog.Logger) {
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
	err := rec.Start(RecordRequest{SDKAppID: m.App, Room: room, RoomKey: m.Room.Key, UserID: m.UserID,
		RecordID: m.Record.RecordID, PureAudio: m.Record.PureAudio})
	if err != nil && log != nil {
		log.Error("recording did not start", "room", m.Room.Key, "user", m.UserID, "record_id", m.Record.RecordID, "err", err)
	}
}

// ParseRecordParams checks a recordId and pureAudioPushMod from a query.
func ParseRecordParams(recordID, pureAudio string) (RecordParams, error) {
	p := RecordParams{RecordID: recordID}
	switch pureAudio {
	case "", "0":
	case "1", "2":
		p.PureAudio = int(pureAudio[0] - '0')
	default:
		return p, fmt.Errorf("pureAudioPushMod %q: want 0, 1 or 2", pureAudio)
	}
	return p, CheckRecordID(recordID)
}

// CheckRecordID: a recordId names files, so it is short and plain.
func CheckRecordID(id string) error {
	if len(id) > 64 {
		return errors.New("recordId is longer than 64 bytes")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') || id[0] == '.' {
			return fmt.Errorf("recordId %q: use letters, digits, '-', '_' and '.' only", id)
		}
	}
	return nil
}
