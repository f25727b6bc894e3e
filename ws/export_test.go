package ws

// ConnectionsFrom is how many sockets the per-address gate counts for
// addr, for the tests of the connection limits.
func (s *Server) ConnectionsFrom(addr string) int {
	s.init()
	return s.perIP.Connections(addr)
}
