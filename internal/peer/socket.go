package peer

import (
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// APIOnSocket returns a pion API for one client whose ICE, DTLS and media
// all go through conn, a UDP socket the caller also reads and writes: a
// load generator that lets pion connect the session and then sends and
// receives the media itself. The loopback settings are API's; there are
// no interceptors, since pion does not see the media. Close the returned
// mux (which closes conn) after the PeerConnection.
func APIOnSocket(o Options, conn net.PacketConn) (*webrtc.API, ice.UDPMux, error) {
	se, err := settings(o)
	if err != nil {
		return nil, nil, err
	}
	mux := webrtc.NewICEUDPMux(se.LoggerFactory.NewLogger("ice"), conn)
	se.SetICEUDPMux(mux)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		mux.Close()
		return nil, nil, err
	}
	// An empty registry: without one pion adds its default interceptors,
	// whose timers (NACK, reports) would cost CPU for media pion never sees.
	none := &interceptor.Registry{}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(none)), mux, nil
}
