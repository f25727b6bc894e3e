// Package rtpframe is RTP for media that leaves WebRTC: H.264 packetization in
// both directions (RFC 6184 single NAL, STAP-A, FU-A), and a Receiver that
// follows a publisher's tracks and hands timed H.264 access units and Opus
// packets to one goroutine (FLV players, recorders).
package rtpframe
