// Package live turns RTMP/FLV media into room tracks and back: an RTMP
// pusher's H.264 and AAC become RTP tracks on the SFU's fan-out (Ingest),
// and a publisher's H.264 and Opus become FLV tags for RTMP and HTTP-FLV
// players (Play). Server is the RTMP and HTTP-FLV way in: it asks the
// room core's gate who may push or play (admission*.go, streamid.go) and
// hands the media code a room session; the media code knows formats, not
// credentials.
package live
