package record

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClassMessage writes a class's group message next to the recordings of
// recordID, as one JSON line with offsetMs: milliseconds since that
// recording started, on the same clock as the media (the recorder's files
// start when their first frame arrives). Classes not being recorded yet
// are skipped.
func (r *Recorder) ClassMessage(roomKey, recordID string, msg any) {
	origin, ok := r.recordingStart(roomKey, recordID)
	if !ok {
		return
	}
	f, err := r.messageLog(roomKey, recordID, origin)
	if err != nil {
		r.log.Warn("class messages not written next to the recording", "record_id", recordID, "err", err)
		return
	}
	file, err := os.OpenFile(r.path(f.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, recordingFileMode)
	if err != nil {
		return
	}
	defer file.Close()
	// One write per line (Encode ends it with a newline), and text as sent:
	// HTML escaping would make a message of "<" six times its size.
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	if enc.Encode(map[string]any{"offsetMs": time.Since(origin).Milliseconds(), "message": msg}) == nil {
		file.Write(line.Bytes())
	}
}

// recordingStart is when the room's first recording with recordID started.
func (r *Recorder) recordingStart(roomKey, recordID string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for _, s := range r.sessions {
		f := s.file
		if f.RoomKey == roomKey && f.RecordID == recordID && !f.Start.IsZero() && (first.IsZero() || f.Start.Before(first)) {
			first = f.Start
		}
	}
	return first, !first.IsZero()
}

// messageLog is the index entry of a recordId's message log, made on the
// first message so the files API lists it.
func (r *Recorder) messageLog(roomKey, recordID string, origin time.Time) (*File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := recordID + "_messages.jsonl"
	found, err := r.cfg.Store.Files(func(f *File) bool { return f.Name == name && f.RoomKey == roomKey })
	if err != nil || len(found) > 0 {
		if len(found) > 0 {
			return found[0], nil
		}
		return nil, err
	}
	r.seq++
	f := &File{ID: newFileID(time.Now(), r.seq), RecordID: recordID, RoomKey: roomKey, Format: "jsonl", State: StateDone,
		Start: origin, Name: name, SDKAppID: appOf(roomKey)}
	return f, r.cfg.Store.Put(f)
}

// appOf reads the sdkAppId a room key starts with ("1400000001/1234").
func appOf(roomKey string) uint32 {
	app, _, _ := strings.Cut(roomKey, "/")
	n, _ := strconv.ParseUint(app, 10, 32)
	return uint32(n)
}
