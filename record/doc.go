// Package record records room members keyed by the business recordId:
// fragmented MP4 while recording (a crash loses at most a second), a
// progressive MP4 or an MP3 when done, an index of every file, the
// completion callback in Tencent's shape with a durable outbox, and the
// files API. A member's screen share (its sub-stream) is a file of its
// own, stream id ending "_aux", beside the camera's "_main".
//
// Where things are: the Recorder and its lifecycle (Start, SubStream, the
// resume window, Close) in recorder.go; one recording's session in session.go,
// writing through mp4out.go or mp3.go; turning a partial file into the
// final one, in crash-safe steps, and completing what a crash interrupted
// in finalize.go; the index in store.go; callbacks in callback.go; a
// class's messages beside its recording in messages.go; signed download
// URLs and the files API in files.go.
package record
