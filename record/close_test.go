package record

import "testing"

// Close is safe to call twice (a server that fails to start and then
// shuts down closes what it opened once, but callers should not have to
// know that).
func TestRecorderCloseTwice(t *testing.T) {
	media := newSFU(t)
	r := newRecorder(t, media, t.TempDir(), "")
	r.Close()
	r.Close()
	media.Close()
	media.Close()
}
