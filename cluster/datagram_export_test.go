package cluster

// LoseDatagrams makes every relay in this process lose, on the sending
// side, the media datagrams drop picks, as a lossy link would; the
// returned func ends it. drop is called from several goroutines.
func LoseDatagrams(drop func() bool) (restore func()) {
	dropDatagram.Store(&drop)
	return func() { dropDatagram.Store(nil) }
}
