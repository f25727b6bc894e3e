package sfu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParsePacket: whatever arrives where RTP is expected, parsing never
// panics, and a parsed payload lies inside the packet.
func FuzzParsePacket(f *testing.F) {
	f.Add(rtpBytes(f, 1, 2, 3, []byte{0x65, 1, 2}, true))
	f.Add(rtpBytes(f, 1, 2, 3, []byte{0x7c, 0x85, 1}, false))
	f.Add(rtpBytes(f, 1, 2, 3, []byte{0x78, 0, 2, 0x67, 0x42}, false))
	f.Add([]byte{0xb0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		n := copy(p.Buffer(), b)
		if p.parse(n) != nil {
			return
		}
		if p.payloadStart < 12 || p.payloadEnd > n || p.payloadStart > p.payloadEnd {
			t.Fatalf("payload [%d:%d] outside a %d-byte packet", p.payloadStart, p.payloadEnd, n)
		}
		isKeyframe(MimeH264, p.Payload())
		isKeyframe(MimeVP8, p.Payload())
	})
}

// FuzzParseOffer: any text posted as an offer gets an answer or an error,
// never a panic, and the bitrate rewriting keeps SDP parseable.
func FuzzParseOffer(f *testing.F) {
	f.Add(chromeLikeOffer)
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	f.Add(strings.Replace(chromeLikeOffer, "H264", "AV1", -1))
	f.Add(threeVideoOffer)
	f.Fuzz(func(t *testing.T, offer string) {
		info, err := parseOffer(offer)
		if err != nil {
			return
		}
		// Every way of naming the video sections and of asking for them
		// is answered or refused, never a panic.
		for _, named := range [][]Source{nil, {SourceSub}, {SourceMain, SourceSmall, SourceSub}, {SourceMain, SourceMain}, {SourceAudio}} {
			info.videoSources(named, true, len(named)%2 == 0)
		}
		for _, video := range Sources {
			req := SubscribeRequest{Video: video, Sub: true, AllowAudio: true, AllowVideo: true, AllowSub: video != SourceSmall}
			req.wants(info)
		}
		if out, err := withBitrate(offer, 400, 800); err == nil {
			if _, err := parseOffer(out); err != nil {
				t.Fatalf("rewritten SDP no longer parses: %v", err)
			}
		}
	})
}

// chromeLikeOffer lists VP8 before H.264, as browsers do.
const chromeLikeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"

// threeVideoOffer is a camera, its small stream and a screen, as the TRTC
// Web SDK sends them.
var threeVideoOffer = chromeLikeOffer +
	strings.Replace(chromeLikeOffer[strings.Index(chromeLikeOffer, "m=video"):], "a=mid:1", "a=mid:2", 1) +
	strings.Replace(chromeLikeOffer[strings.Index(chromeLikeOffer, "m=video"):], "a=mid:1", "a=mid:3", 1)

// The video sections of an offer are named in order; a section too many,
// a source named twice and a screen without its privilege are refused.
func TestVideoSectionsAreNamedInOrder(t *testing.T) {
	info, err := parseOffer(threeVideoOffer)
	if err != nil {
		t.Fatal(err)
	}
	mids, err := info.videoSources([]Source{SourceMain, SourceSmall, SourceSub}, true, true)
	if err != nil || mids["1"] != SourceMain || mids["2"] != SourceSmall || mids["3"] != SourceSub {
		t.Fatalf("sections %v (%v), want 1 main, 2 small, 3 sub", mids, err)
	}
	if _, err := info.videoSources(nil, true, true); !errors.Is(err, ErrBadOffer) {
		t.Fatalf("three sections named as one: %v, want ErrBadOffer", err)
	}
	if _, err := info.videoSources([]Source{SourceMain, SourceMain, SourceSub}, true, true); err == nil {
		t.Fatal("two sections of the main stream were accepted")
	}
	if _, err := info.videoSources([]Source{SourceMain, SourceSmall, SourceSub}, true, false); !errors.Is(err, ErrSendSubDenied) {
		t.Fatalf("a screen without bit 64: %v, want ErrSendSubDenied", err)
	}
	if _, err := info.videoSources([]Source{SourceMain, SourceSmall, SourceSub}, false, true); !errors.Is(err, ErrSendVideoDenied) {
		t.Fatalf("a camera without bit 16: %v, want ErrSendVideoDenied", err)
	}
	four := threeVideoOffer + strings.Replace(chromeLikeOffer[strings.Index(chromeLikeOffer, "m=video"):], "a=mid:1", "a=mid:4", 1)
	if _, err := parseOffer(four); !errors.Is(err, ErrBadOffer) {
		t.Fatalf("four video sections: %v, want ErrBadOffer", err)
	}
}

func TestOfferPrefersH264AndAnswerCarriesBitrate(t *testing.T) {
	info, err := parseOffer(chromeLikeOffer)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.videoCodecs(); len(got) == 0 || got[0].MimeType != MimeH264 {
		t.Fatalf("video codecs %v, want H.264 although VP8 is listed first", got)
	}
	vp8Only := strings.Replace(strings.Replace(chromeLikeOffer, " 96 102", " 96", 1), "a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n", "", 1)
	out, err := withBitrate(vp8Only, 400, 800)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"b=AS:800", "b=TIAS:800000", "a=fmtp:96 x-google-min-bitrate=400;x-google-max-bitrate=800"} {
		if !strings.Contains(out, want) {
			t.Errorf("answer lacks %q:\n%s", want, out)
		}
	}
}

// The server checks every candidate an offer names, so an offer may name
// only a few.
func TestAnOfferNamesFewCandidates(t *testing.T) {
	withCandidates := func(n int) string {
		offer := chromeLikeOffer
		for i := range n {
			offer += fmt.Sprintf("a=candidate:%d 1 udp 2122260223 192.0.2.%d 5000%d typ host\r\n", i, i%250+1, i%10)
		}
		return offer
	}
	if _, err := parseOffer(withCandidates(maxOfferCandidates)); err != nil {
		t.Fatalf("%d candidates: %v", maxOfferCandidates, err)
	}
	if _, err := parseOffer(withCandidates(maxOfferCandidates + 1)); !errors.Is(err, ErrBadOffer) {
		t.Fatalf("%d candidates: %v, want ErrBadOffer", maxOfferCandidates+1, err)
	}
}
