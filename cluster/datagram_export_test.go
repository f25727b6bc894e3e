package cluster

// LoseDatagrams makes every relay in this process lose, on the sending
// side, the live media packets drop picks (sealed or in QUIC datagrams),
// as a lossy link would; the returned func ends it. drop is called from
// several goroutines.
func LoseDatagrams(drop func() bool) (restore func()) {
	dropDatagram.Store(&drop)
	return func() { dropDatagram.Store(nil) }
}

// DropRelayConnections closes the node's relay connections, as a link
// that flaps would end them.
func (n *Node) DropRelayConnections() {
	for _, pc := range n.peers.all() {
		pc.c.CloseWithError(0, "test: link down")
	}
}

// BusChannel is the bus's Redis channel, under the directory's prefix.
const BusChannel = "trtcd:" + eventsChannel

// SealNothing makes every node in this process send its relayed media in
// QUIC datagrams, as a node of the previous version does, although its
// peers ask for sealed media; the returned func ends it.
func SealNothing() (restore func()) {
	sealNothing.Store(true)
	return func() { sealNothing.Store(false) }
}
