package server

import (
	"github.com/trtcd/trtcd/websdk"
	"github.com/trtcd/trtcd/ws"
)

// wsLimits merges the per-address limits of /ws into its frame limits.
func (s *Server) wsLimits() ws.Limits {
	w := s.cfg.WSLimits // zero fields take the defaults
	l := s.cfg.Limits
	if l.WS.PerSecond != 0 {
		w.JoinsPerSecondIP = l.WS.PerSecond
	}
	if l.WS.Burst != 0 {
		w.JoinBurstIP = l.WS.Burst
	}
	if l.WS.Connections != 0 {
		w.ConnectionsPerIP = l.WS.Connections
	}
	if l.WS.Total != 0 {
		w.Connections = l.WS.Total
	}
	if l.LoginTimeout != 0 {
		w.LoginTimeout = l.LoginTimeout
	}
	return w
}

// websdkLimits: /websdk's per-address limits and login deadline.
func (s *Server) websdkLimits() websdk.Limits {
	l := s.cfg.Limits
	w := l.WebSDKFrames
	w.PerAddress, w.LoginTimeout = l.WebSDK, l.LoginTimeout
	return w
}
