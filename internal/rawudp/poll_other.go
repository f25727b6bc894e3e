//go:build !(linux && (amd64 || arm64))

package rawudp

import (
	"errors"
	"net/netip"
	"time"
)

// Poller reads many sockets from one goroutine; Linux only.
type Poller struct{}

// Handler takes one datagram read from a socket.
type Handler func(d []byte, from netip.AddrPort, at time.Time)

// Socket is a UDP socket in a Poller.
type Socket struct{}

var errNoPoller = errors.New("rawudp: Poller needs Linux on amd64 or arm64")

func NewPoller() (*Poller, error) { return nil, errNoPoller }

func (p *Poller) Listen(netip.Addr, int, Handler) (*Socket, error) { return nil, errNoPoller }
func (p *Poller) Poll() error                                      { return errNoPoller }
func (p *Poller) Close() error                                     { return nil }

func (s *Socket) LocalAddr() netip.AddrPort                   { return netip.AddrPort{} }
func (s *Socket) WriteTo([]byte, netip.AddrPort) (int, error) { return 0, errNoPoller }
func (s *Socket) WriteBatch(b *Batch) (int, error)            { b.Reset(); return 0, errNoPoller }
func (s *Socket) Close() error                                { return nil }
