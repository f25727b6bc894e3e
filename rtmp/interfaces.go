package rtmp

import (
	"context"
	"net"
	"net/url"

	"github.com/trtcd/trtcd/rtmp/flv"
)

// What the rtmp package asks of the code that uses it: a Handler that
// decides what publishing and playing mean, the Publisher it returns for a
// stream coming in, and the TagWriter it gives a player.

// Handler decides what publishing and playing mean; the rtmp package only
// speaks the protocol. Both methods are called from the connection's own
// goroutines, one connection at a time per call.
type Handler interface {
	// Publish is called on "publish". app is the connect app without query
	// ("live"), name the stream name without query, query the merged query
	// of the tcUrl and the publish name (the name wins on conflicts).
	// Returning an error refuses: the client gets onStatus
	// NetStream.Publish.BadName (or what an *StatusError carries) and the
	// connection is closed once the status is flushed. It runs on the
	// connection's read loop, so it should return promptly; ctx ends with
	// the connection.
	Publish(ctx context.Context, c *ConnInfo, app, name string, query url.Values) (Publisher, error)

	// Play is called on "play" in a goroutine of its own. The handler writes
	// tags to w until ctx ends (client left, deleteStream, connection closed)
	// or w fails, then returns. Returning an error before the first WriteTag
	// refuses: the client gets NetStream.Play.StreamNotFound (or what an
	// *StatusError carries) and the connection is closed. NetStream.Play.Start
	// is sent just before the first tag, so a refusal is never preceded by a
	// Start.
	Play(ctx context.Context, c *ConnInfo, app, name string, query url.Values, w TagWriter) error
}

// Publisher receives a publisher's stream.
type Publisher interface {
	// WriteTag gets audio, video and script data in arrival order, with the
	// RTMP timestamps. The tag's Data is not reused by the server. An error
	// ends the publish and the connection.
	WriteTag(flv.Tag) error
	// Close is called once when the publish ends for any reason.
	Close()
}

// TagWriter sends tags to a player. WriteTag never blocks on the network: it
// queues (at most Limits.WriteQueue messages) and a player that falls behind
// is disconnected with ErrSlowConsumer. Data must not be modified after the
// call, so one buffer can be shared by every player.
type TagWriter interface {
	WriteTag(flv.Tag) error
}

// ConnInfo describes the client, from the connect command.
type ConnInfo struct {
	RemoteAddr net.Addr
	TCURL      string // tcUrl as sent, query included
	App        string // app without query
	FlashVer   string // e.g. "FMLE/3.0 (compatible; Lavf59.27.100)"
}
