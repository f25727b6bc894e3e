package rtpframe

import (
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/trtcd/trtcd/sfu"
)

// newRoom starts a media plane on loopback with a publisher that has an
// H.264 and an Opus track.
func newRoom(tb testing.TB) (media *sfu.SFU, video, audio *sfu.Track) {
	tb.Helper()
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(media.Close)
	pub, err := media.Join("room", "pub", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		tb.Fatal(err)
	}
	video, err = pub.PublishTrack("pub/video", sfu.SourceMain, sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	audio, err = pub.PublishTrack("pub/audio", sfu.SourceAudio, sfu.Codec{MimeType: sfu.MimeOpus, ClockRate: 48000, Channels: 2}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return media, video, audio
}

func follow(tb testing.TB, media *sfu.SFU) *Receiver {
	viewer, err := media.Join("room", "viewer")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(viewer.Close)
	return Follow(viewer, "pub", true, sfu.SourceMain)
}

// A player that follows a stream and has not been sent anything costs a few
// kilobytes, not the 768 KB of a full queue: 200 idle FLV players from one
// user added 200 MB before the queue grew on demand.
func TestIdleReceiverCostsLittleMemory(t *testing.T) {
	media, _, _ := newRoom(t)
	const receivers = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range receivers {
		follow(t, media)
	}
	runtime.ReadMemStats(&after)
	perReceiver := (after.TotalAlloc - before.TotalAlloc) / receivers
	// A sfu session, two taps, the queue's channels and its warm buffers.
	if perReceiver > 48<<10 {
		t.Fatalf("an idle receiver allocates %d KB, want under 48 KB", perReceiver>>10)
	}
	t.Logf("an idle receiver allocates %.1f KB", float64(perReceiver)/1024)
}

// A receiver that falls behind grows its queue to queueSize packets and no
// further: the rest are dropped and counted, and it then asks for (and waits
// for) a keyframe, as before.
func TestReceiverQueueGrowsToItsBound(t *testing.T) {
	media, _, audio := newRoom(t)
	rx := follow(t, media)
	w := Packetizer{PayloadType: 111, SSRC: 9}
	for i := range queueSize + 100 {
		audio.Write(w.Packet(uint32(i*960), false, []byte{0xfc, byte(i)}))
	}
	if got := rx.Dropped(); got != 100 {
		t.Fatalf("%d packets dropped, want the 100 beyond the bound of %d", got, queueSize)
	}
	frames := 0
	if err := rx.Drain(func(*Frame) error { frames++; return nil }); err != nil {
		t.Fatal(err)
	}
	if frames != queueSize {
		t.Fatalf("%d frames came out, want %d", frames, queueSize)
	}
	if made := rx.q.made.Load(); made != queueSize {
		t.Fatalf("%d buffers made, want %d", made, queueSize)
	}
}

// Once the queue has grown to the backlog a stream needs, forwarding to a
// receiver and taking frames from it allocate nothing.
func TestReceiverSteadyStateDoesNotAllocate(t *testing.T) {
	media, video, audio := newRoom(t)
	rx := follow(t, media)
	send := steadyStream(video, audio)
	handle := func(*Frame) error { return nil }
	for range 50 { // warm up: grow the queue and the access unit buffers
		send()
		rx.Drain(handle)
	}
	if allocs := testing.AllocsPerRun(200, func() { send(); rx.Drain(handle) }); allocs != 0 {
		t.Fatalf("%.1f allocations per picture and audio packet, want 0", allocs)
	}
}

// steadyStream returns a function that sends one picture (two FU-A
// fragments) and one Opus packet.
func steadyStream(video, audio *sfu.Track) func() {
	vw, aw := Packetizer{PayloadType: 102, SSRC: 1}, Packetizer{PayloadType: 111, SSRC: 2}
	picture := make([]byte, 2000)
	picture[0] = 0x41 // a non-IDR slice
	opus := []byte{0xfc, 1, 2, 3}
	var ts uint32
	return func() {
		ts += 3000
		vw.PacketizeNALU(picture, ts, true, video.Write)
		audio.Write(aw.Packet(ts/90*48, false, opus))
	}
}

// BenchmarkReceiverSteadyState: forwarding one picture and one audio packet
// to a receiver and taking their frames (0 allocs/op).
func BenchmarkReceiverSteadyState(b *testing.B) {
	media, video, audio := newRoom(b)
	rx := follow(b, media)
	send := steadyStream(video, audio)
	handle := func(*Frame) error { return nil }
	for range 50 { // grow the queue and the access unit buffers
		send()
		rx.Drain(handle)
	}
	b.ReportAllocs()
	for b.Loop() {
		send()
		rx.Drain(handle)
	}
}

// BenchmarkIdleReceiver: what following a stream costs a player that has
// not been sent anything yet (B/op).
func BenchmarkIdleReceiver(b *testing.B) {
	media, _, _ := newRoom(b)
	b.ReportAllocs()
	for b.Loop() {
		viewer, _ := media.Join("room", "viewer")
		Follow(viewer, "pub", true, sfu.SourceMain)
		viewer.Close()
	}
}

// An audio packet without payload is no Opus packet (each has at least its
// TOC byte): players and recorders are not handed an empty frame.
func TestReceiverSkipsEmptyAudioPackets(t *testing.T) {
	media, _, audio := newRoom(t)
	rx := follow(t, media)
	w := Packetizer{PayloadType: 111, SSRC: 9}
	audio.Write(w.Packet(0, false))
	audio.Write(w.Packet(960, false, []byte{0xfc, 1}))
	var got [][]byte
	rx.Drain(func(f *Frame) error { got = append(got, append([]byte(nil), f.Data...)); return nil })
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("frames % x, want the one Opus packet", got)
	}
}
