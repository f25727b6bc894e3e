package rawudp

import "net"

func listenOne(network, address string) ([]*net.UDPConn, error) {
	addr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return []*net.UDPConn{c}, nil
}
