package live

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Server admits live-pusher and live-player clients at the gate: RTMP
// publishers become room members whose streams join the fan-out
// (admission_push.go), and RTMP or HTTP-FLV players watch any member's
// stream (admission_play.go, admission_flv.go). It implements rtmp.Handler.
// Stream names follow TRTC (streamid.go):
//
//	rtmp://HOST/live/{sdkAppId}_{roomId}_{userId}_main?usersig=&privatemapkey=&recordid=&pureaudiomode=
//	rtmp://HOST/live/{streamId}?userid=VIEWER&usersig=SIG     (play)
//	http://HOST/live/{streamId}.flv?userid=VIEWER&usersig=SIG (play)
//
// A stream id ending "_main" is a member's camera and microphone; one
// ending "_aux" its sub-stream (a screen share), played as video alone by
// viewers whose privateMapKey has bit 128. Pushes are "_main" only.
// ?strroomid=NAME makes the room a string room (the roomId part is then
// ignored), as for WHIP.
type Server struct {
	Gate   *trtc.Gate
	SFU    *sfu.SFU
	Logger *slog.Logger
	// OnBFrames counts pushes refused for B-frames (a metric).
	OnBFrames func()
	// Recorder records pushers that give a recordId (nil: none are).
	Recorder trtc.Recorder
	// FLVLimits bound HTTP-FLV players per client address (IPv6 per /64):
	// new plays per second and burst, and plays held at once [50/s, burst
	// 200, 500 players]. A zero field takes its default, a negative one
	// turns that limit off. Over them: HTTP 429, code 14009.
	FLVLimits limit.Config
	// PublisherWait ends an RTMP or HTTP-FLV play that gets no media for
	// this long [1m]: a player of a stream that is not there must not hold
	// its viewer slot forever.
	PublisherWait time.Duration
	// Opus is how pushers' AAC is encoded for WebRTC viewers: libopus
	// complexity and the channels of a mono source (the zero value is
	// codec's measured default); Bitrate 0 is 48 kbit/s.
	Opus codec.AACToOpusOptions
}

var _ rtmp.Handler = (*Server)(nil)

// DefaultPublisherWait is how long a player waits for media from its
// publisher (Server.PublisherWait). A minute covers a pusher that starts
// after its players or reconnects after a network change; TRTC's players
// retry after the play ends, so a longer wait only holds a viewer slot
// for a stream that is not there.
const DefaultPublisherWait = time.Minute

func (s *Server) publisherWait() time.Duration {
	if s.PublisherWait <= 0 {
		return DefaultPublisherWait
	}
	return s.PublisherWait
}

// transcoder makes pushers' AAC → Opus transcoders with s.Opus.
func (s *Server) transcoder() func(asc []byte) (AudioTranscoder, error) {
	o := s.Opus
	if o.Bitrate == 0 {
		o.Bitrate = opusBitrate
	}
	return func(asc []byte) (AudioTranscoder, error) { return codec.NewAACToOpusWith(asc, o) }
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// refuse turns a TRTC error into the onStatus the client sees; the code
// leads the description so scripts can read it.
func refuse(status string, e *trtc.Error) error {
	return &rtmp.StatusError{Code: status, Description: fmt.Sprintf("%d %s", e.Code, e.Message)}
}
