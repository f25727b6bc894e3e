//go:build !(linux && (amd64 || arm64))

package rawudp

import "net"

// ListenShared binds one socket whatever n: spreading peers over sockets
// with SO_REUSEPORT is done on 64-bit Linux only.
func ListenShared(network, address string, n int) ([]*net.UDPConn, error) {
	return listenOne(network, address)
}
