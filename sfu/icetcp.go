package sfu

import (
	"cmp"
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"

	"github.com/trtcd/trtcd/internal/limit"
)

// firstSTUNTimeout: an ICE-TCP connection that has not sent its first STUN
// binding request by then is closed. A client sends it as soon as its
// connect completes (it opens the connection to run that very check), so a
// few seconds cover a congested link; pion's default of 30 s let every idle
// socket hold a descriptor and a goroutine six times as long.
const firstSTUNTimeout = 5 * time.Second

// DefaultICETCPLimits: a school behind one NAT address, every pupil on
// ICE-TCP (a network that blocks UDP), holds one connection each, as on
// the other listeners (limit.Default); 5000 in all is five such schools,
// far below the descriptors a process has.
var DefaultICETCPLimits = limit.Config{Total: 5000, Name: "ice_tcp"}.Or(limit.Default)

// listenICETCP opens the ICE-TCP listener behind a per-address gate, so
// that one address cannot hold every descriptor of the process with idle
// connections, and the mux that serves it.
func listenICETCP(cfg TransportConfig, logs logging.LoggerFactory) (net.Listener, ice.TCPMux, error) {
	raw, err := net.Listen("tcp4", cfg.TCPAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: listen ice-tcp %s: %w", cfg.TCPAddr, err)
	}
	gate := limit.NewGate(cfg.TCPPerAddress.Or(DefaultICETCPLimits))
	ln := gate.Listener(raw, nil) // refusals are counted in trtcd_refused_total{listener="ice_tcp"}
	mux := ice.NewTCPMuxDefault(ice.TCPMuxParams{
		Listener:             ln,
		Logger:               logs.NewLogger("ice-tcp"),
		ReadBufferSize:       tcpReadBuffer,
		FirstStunBindTimeout: cmp.Or(cfg.firstSTUNTimeout, firstSTUNTimeout),
	})
	return ln, mux, nil
}
