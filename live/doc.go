// Package live turns RTMP/FLV media into room tracks and back: an RTMP
// pusher's H.264 and AAC become RTP tracks on the SFU's fan-out (Ingest),
// and a publisher's H.264 and Opus become FLV tags for RTMP and HTTP-FLV
// players (Play). It knows media formats, not who may publish or play:
// signalling authenticates first and hands over a room session.
package live
