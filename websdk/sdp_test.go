package websdk

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// videoSection is a Chrome-like video m-section of an SDK offer.
func videoSection(mid, dir string) string {
	return "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n" +
		"a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:" + mid + "\r\n" +
		"a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n" +
		"a=" + dir + "\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
		"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n" +
		"a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack pli\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
}

func audioSection(mid, dir string) string {
	return "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n" +
		"a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:" + mid + "\r\n" +
		"a=" + dir + "\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
}

const sessionHead = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// uplinkOffer is the SDK's four-section publish offer, with the empty
// extmap line it leaves in the first video section.
func uplinkOffer() string {
	v := strings.Replace(videoSection("1", "sendonly"), "a=rtcp-mux\r\n", "a=extmap:13 \r\na=rtcp-mux\r\n", 1)
	return sessionHead + "a=group:BUNDLE 0 1 2 3\r\na=msid-semantic: WMS\r\n" +
		audioSection("0", "sendonly") + v + videoSection("2", "sendonly") + videoSection("3", "sendonly")
}

func TestSanitizeRemovesTheEmptyExtmap(t *testing.T) {
	got := sanitize(uplinkOffer())
	if strings.Contains(got, "a=extmap:13 ") {
		t.Fatal("the empty extmap line is still there")
	}
	if !strings.Contains(got, "a=extmap:3 http://") {
		t.Fatal("a valid extmap line was removed")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(got); err != nil {
		t.Fatal(err)
	}
}

// The SFU sees the microphone and camera sections; the answer to the SDK
// has all four, the extra ones recvonly, in one BUNDLE group.
func TestUplinkOfferNarrowedAndAnswerWidened(t *testing.T) {
	o, err := parseOffer(uplinkOffer(), func(i int, kind string) bool { return i == upAudio || i == upVideo })
	if err != nil {
		t.Fatal(err)
	}
	offer, err := o.forSFU()
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 2 || !strings.Contains(offer, "a=group:BUNDLE 0 1\r\n") {
		t.Fatalf("the SFU's offer:\n%s", offer)
	}
	// What pion answers to that, roughly.
	answer := sessionHead + "a=group:BUNDLE 0 1\r\n" +
		strings.NewReplacer("sendonly", "recvonly", "actpass", "active", "a=ice-ufrag:abcd", "a=ice-ufrag:srv").Replace(audioSection("0", "sendonly")+videoSection("1", "sendonly"))
	full, err := o.widen(answer, "recvonly")
	if err != nil {
		t.Fatal(err)
	}
	var a sdp.SessionDescription
	if err := a.UnmarshalString(full); err != nil {
		t.Fatal(err)
	}
	if len(a.MediaDescriptions) != 4 || !strings.Contains(full, "a=group:BUNDLE 0 1 2 3\r\n") {
		t.Fatalf("the widened answer:\n%s", full)
	}
	for i, m := range a.MediaDescriptions {
		dirs := 0
		for _, attr := range m.Attributes {
			if attr.Key == "sendonly" || attr.Key == "recvonly" || attr.Key == "inactive" || attr.Key == "sendrecv" {
				dirs++
			}
		}
		mid, _ := m.Attribute("mid")
		ufrag, _ := m.Attribute("ice-ufrag")
		setup, _ := m.Attribute("setup")
		_, mux := m.Attribute("rtcp-mux")
		_, recv := m.Attribute("recvonly")
		if dirs != 1 || !recv || mid != string(rune('0'+i)) || ufrag != "srv" || setup != "active" || !mux {
			t.Errorf("section %d: mid %q, %d direction lines, ufrag %q, setup %q, rtcp-mux %v:\n%s", i, mid, dirs, ufrag, setup, mux, full)
		}
	}
}

// A screen share publishes no audio, so the first section of the answer
// is one the SFU never saw; the browser takes the candidates from it (the
// first of the BUNDLE group), so it carries them.
func TestIdleFirstSectionCarriesTheCandidates(t *testing.T) {
	o, err := parseOffer(uplinkOffer(), func(i int, kind string) bool { return i == upVideo })
	if err != nil {
		t.Fatal(err)
	}
	answer := sessionHead + "a=group:BUNDLE 1\r\n" + strings.NewReplacer("sendonly", "recvonly", "actpass", "active",
		"m=video 9", "m=video 41611", "c=IN IP4 0.0.0.0", "c=IN IP4 127.0.0.1").Replace(videoSection("1", "sendonly")) +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 41611 typ host\r\na=end-of-candidates\r\n"
	full, err := o.widen(answer, "recvonly")
	if err != nil {
		t.Fatal(err)
	}
	var a sdp.SessionDescription
	if err := a.UnmarshalString(full); err != nil {
		t.Fatal(err)
	}
	first := a.MediaDescriptions[0]
	cand, _ := first.Attribute("candidate")
	if first.MediaName.Media != "audio" || first.MediaName.Port.Value != 41611 || cand == "" ||
		first.ConnectionInformation.Address.Address != "127.0.0.1" {
		t.Fatalf("the idle audio section does not carry the transport:\n%s", full)
	}
}

// A downlink answer names the SDK's main stream on audio and main video
// and its auxiliary stream on the third section, by which the SDK tells the
// camera from a screen share.
func TestDownlinkAnswerUsesTheSDKsStreamIDs(t *testing.T) {
	answer := sessionHead + "a=group:BUNDLE 0 1 2\r\n" + audioSection("0", "sendonly") +
		"a=msid:alice alice-audio\r\na=ssrc:1111 cname:alice\r\na=ssrc:1111 msid:alice alice-audio\r\na=ssrc:1111 mslabel:alice\r\na=ssrc:1111 label:alice-audio\r\n" +
		videoSection("1", "sendonly") + "a=msid:alice alice-video\r\na=ssrc:2222 msid:alice alice-video\r\n" +
		videoSection("2", "sendonly") + "a=msid:alice alice-sub\r\na=ssrc:3333 msid:alice alice-sub\r\na=ssrc:3333 mslabel:alice\r\n"
	got, err := withStreamIDs(answer, "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"a=msid:" + mainStreamID + " alice-audio\r\n",
		"a=ssrc:1111 msid:" + mainStreamID + " alice-audio\r\n",
		"a=ssrc:1111 mslabel:" + mainStreamID + "\r\n",
		"a=ssrc:1111 cname:alice\r\n",
		"a=ssrc:1111 label:alice-audio\r\n",
		"a=msid:" + mainStreamID + " alice-video\r\n",
		"a=ssrc:2222 msid:" + mainStreamID + " alice-video\r\n",
		"a=msid:" + auxStreamID + " alice-sub\r\n",
		"a=ssrc:3333 msid:" + auxStreamID + " alice-sub\r\n",
		"a=ssrc:3333 mslabel:" + auxStreamID + "\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

func TestOfferWithNothingForTheSFUIsRefused(t *testing.T) {
	if _, err := parseOffer(uplinkOffer(), func(int, string) bool { return false }); err == nil {
		t.Fatal("an offer with no section for the SFU was accepted")
	}
	if _, err := parseOffer("not sdp", func(int, string) bool { return true }); err == nil {
		t.Fatal("garbage was accepted")
	}
}
