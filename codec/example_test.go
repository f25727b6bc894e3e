//go:build cgo

package codec_test

import (
	"log"

	"github.com/trtcd/trtcd/codec"
)

// An RTMP publisher's AAC becomes 20 ms Opus frames for WebRTC viewers.
func ExampleAACToOpus() {
	asc := []byte{0x12, 0x10} // from the RTMP AAC sequence header: AAC-LC, 44.1 kHz, stereo
	tr, err := codec.NewAACToOpus(asc, 64000)
	if err != nil {
		log.Fatal(err) // codec.ErrUnavailable in a CGO_ENABLED=0 build
	}
	defer tr.Close()

	// Bound once, not per frame: keeps the media path allocation-free.
	send := func(opus []byte, rtpTimestamp uint32) { /* write an RTP packet; opus is reused after return */ }
	var rtmpAudio []struct {
		raw []byte
		pts uint32
	}
	for _, m := range rtmpAudio {
		if err := tr.Push(m.raw, m.pts, send); err != nil {
			log.Print(err) // a bad frame: it was replaced by silence, carry on
		}
	}
}

// A WebRTC publisher's Opus becomes AAC for RTMP/HTTP-FLV viewers.
func ExampleOpusToAAC() {
	tr, err := codec.NewOpusToAAC(2, 48000, 96000)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	sequenceHeader := tr.AudioSpecificConfig() // send first, as the FLV AAC sequence header
	_ = sequenceHeader

	writeTag := func(aac []byte, ptsMs uint32) { /* FLV audio tag; aac is reused after return */ }
	var rtpPackets []struct {
		payload   []byte
		timestamp uint32
	}
	for _, p := range rtpPackets {
		if err := tr.Push(p.payload, p.timestamp, writeTag); err != nil {
			log.Print(err)
		}
	}
	tr.Flush(writeTag)
}
