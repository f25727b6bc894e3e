package main

import (
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/websdk"
)

// limitsConfig: the per-address limits of every listener and the limits on
// what one user holds. A zero value keeps the default, a negative one turns
// that limit off. Defaults serve a school behind one NAT address: 200 joins
// within 2 s, 500 connections per listener.
type limitsConfig struct {
	HTTP           addressLimits `yaml:"http"`    // connections only: each HTTP(S) listener [2000, 10000 in all]
	WHIP           addressLimits `yaml:"whip"`    // offers [50/s, burst 200]
	WHEP           addressLimits `yaml:"whep"`    // offers [50/s, burst 200]
	FLV            addressLimits `yaml:"flv"`     // HTTP-FLV plays [50/s, burst 200, 500 at once]
	RTMP           addressLimits `yaml:"rtmp"`    // RTMP connections [50/s, burst 200, 500 at once]
	WS             addressLimits `yaml:"ws"`      // /ws sockets [50/s, burst 200, 500 at once]
	WebSDK         addressLimits `yaml:"websdk"`  // /websdk sockets [50/s, burst 200, 500 at once]
	REST           addressLimits `yaml:"rest"`    // REST API and jsonvideoapp requests [50/s, burst 200]
	ICETCP         addressLimits `yaml:"ice_tcp"` // ICE-TCP connections [50/s, burst 200, 500 at once, 5000 in all]
	STUN           addressLimits `yaml:"stun"`    // STUN messages from one address and port to the media port [100/s, burst 200]
	RTMPTotal      int           `yaml:"rtmp_total_connections"`
	RTMPQueued     int           `yaml:"rtmp_queued_bytes"` // waiting for one slow RTMP player [8 MiB], then it is dropped
	LoginTimeout   time.Duration `yaml:"login_timeout"`     // /ws, /websdk and RTMP sockets must log in within it [10s]
	ViewersPerUser int           `yaml:"viewers_per_user"`  // WHEP, RTMP and HTTP-FLV sessions of one userId [50]
	ViewersPerRoom int           `yaml:"viewers_per_room"`  // such sessions in one room [100]
	PublisherWait  time.Duration `yaml:"publisher_wait"`    // an RTMP/FLV play with no media this long ends [1m]
	ConnectTimeout time.Duration `yaml:"connect_timeout"`   // a WebRTC session not connected by then is closed [8s]
	PublishKbps    int           `yaml:"publish_kbps"`      // each WebRTC publisher's track, each RTMP connection's reads [20000]
	WebSDKFrames   frameLimits   `yaml:"websdk_frames"`     // frames one /websdk socket may send
}

// frameLimits: frames per second and burst of one socket, after and before
// it logged in [20/s, burst 100; 2/s, burst 10].
type frameLimits struct {
	PerSecond      float64 `yaml:"per_second"`
	Burst          int     `yaml:"burst"`
	LoginPerSecond float64 `yaml:"login_per_second"`
	LoginBurst     int     `yaml:"login_burst"`
	MaxQueuedBytes int     `yaml:"max_queued_bytes"` // waiting for a slow reader [4 MiB], then 14009
}

// server turns the configuration into the server's limits.
func (c limitsConfig) server() server.Limits {
	return server.Limits{
		HTTPConnections: c.HTTP.Connections,
		HTTPTotal:       c.HTTP.Total,
		WHIP:            c.WHIP.gate("whip"),
		WHEP:            c.WHEP.gate("whep"),
		FLV:             c.FLV.gate("flv"),
		RTMP:            c.RTMP.gate("rtmp"),
		WS:              c.WS.gate("ws"),
		WebSDK:          c.WebSDK.gate("websdk"),
		REST:            c.REST.gate("rest"),
		ICETCP:          c.ICETCP.gate("ice_tcp"),
		RTMPTotal:       c.RTMPTotal,
		RTMPQueued:      c.RTMPQueued,
		LoginTimeout:    c.LoginTimeout,
		ViewersPerUser:  c.ViewersPerUser,
		ViewersPerRoom:  c.ViewersPerRoom,
		PublisherWait:   c.PublisherWait,
		ConnectTimeout:  c.ConnectTimeout,
		PublishKbps:     c.PublishKbps,
		WebSDKFrames: websdk.Limits{MessagesPerSecond: c.WebSDKFrames.PerSecond, MessageBurst: c.WebSDKFrames.Burst,
			LoginMessagesPerSecond: c.WebSDKFrames.LoginPerSecond, LoginMessageBurst: c.WebSDKFrames.LoginBurst,
			MaxQueuedBytes: c.WebSDKFrames.MaxQueuedBytes},
	}
}

// addressLimits is one listener's per-address limits, and its cap on the
// connections of all addresses together.
type addressLimits struct {
	PerSecond   float64 `yaml:"per_second"`
	Burst       int     `yaml:"burst"`
	Connections int     `yaml:"connections"`
	Total       int     `yaml:"total"`
}

// gate names the limits after their listener, so that their refusals are
// counted in trtcd_refused_total{listener}.
func (a addressLimits) gate(listener string) limit.Config {
	return limit.Config{PerSecond: a.PerSecond, Burst: a.Burst, Connections: a.Connections, Total: a.Total, Name: listener}
}
