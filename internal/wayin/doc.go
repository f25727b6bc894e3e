// Package wayin holds what the ways in (whip, ws, restapi, websdk and
// live's RTMP/FLV admission) share and the room core must not know: HTTP
// error replies, CORS, bearer tokens and per-address limits; the media
// plane's refusals as TRTC codes; a member whose only tie to trtcd is its
// media session; a member's set of media sessions; the bitrate range.
package wayin
