package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Errors about an offer, reported to the client.
var (
	ErrBadOffer        = errors.New("the offer is not valid SDP")
	ErrNoMedia         = errors.New("the offer has no audio or video")
	ErrNoCommonCodec   = errors.New("the offer has no codec this server forwards (H.264, VP8, Opus)")
	ErrCodecMismatch   = errors.New("the subscriber cannot decode the publisher's codec")
	ErrNotPublishing   = errors.New("the user is not publishing")
	ErrSessionClosed   = errors.New("the session is closed")
	ErrPrivilegeDenied = errors.New("not allowed")
)

// MaxSDPSize bounds an offer; real offers are a few kilobytes.
const MaxSDPSize = 64 << 10

// maxOfferCandidates bounds the ICE candidates an offer may name: the
// server sends connectivity checks to each, and an offer must not turn it
// into a source of packets towards many addresses. Browsers offer a few
// (one or two per interface), the TRTC Web SDK none.
const maxOfferCandidates = 16

// offerInfo is what the SFU needs to know about an offer before answering.
type offerInfo struct {
	audio, video bool
	audioMid     string   // the mid of the audio section
	videoMids    []string // the mids of the video sections, in order
	h264, vp8    bool     // offered video codecs (H.264 with packetization-mode 1)
	opus         bool
}

func parseOffer(offer string) (*offerInfo, error) {
	if len(offer) > MaxSDPSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadOffer, MaxSDPSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if n := countCandidates(&sd); n > maxOfferCandidates {
		return nil, fmt.Errorf("%w: %d ICE candidates (at most %d)", ErrBadOffer, n, maxOfferCandidates)
	}
	info := &offerInfo{}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue // rejected section
		}
		switch m.MediaName.Media {
		case "audio":
			if info.audio {
				return nil, fmt.Errorf("%w: more than one audio section (a member sends one audio and one video track)", ErrBadOffer)
			}
			info.audio = true
			info.audioMid, _ = m.Attribute("mid")
		case "video":
			if len(info.videoMids) == len(Sources)-1 {
				return nil, fmt.Errorf("%w: more than %d video sections (main, small and sub-stream)", ErrBadOffer, len(Sources)-1)
			}
			mid, _ := m.Attribute("mid")
			info.video, info.videoMids = true, append(info.videoMids, mid)
		}
		for _, f := range m.MediaName.Formats {
			name, fmtp := sectionCodec(m, f)
			switch strings.ToLower(name) {
			case "h264":
				info.h264 = info.h264 || fmtpValue(fmtp, "packetization-mode") == "1"
			case "vp8":
				info.vp8 = true
			case "opus":
				info.opus = true
			}
		}
	}
	if !info.audio && !info.video {
		return nil, ErrNoMedia
	}
	if (info.video && !info.h264 && !info.vp8) || (info.audio && !info.opus) {
		return nil, ErrNoCommonCodec
	}
	return info, nil
}

// countCandidates counts an offer's distinct candidate lines (a bundled
// offer repeats them in every section).
func countCandidates(sd *sdp.SessionDescription) int {
	seen := map[string]bool{}
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.Key == "candidate" {
				seen[a.Value] = true
			}
		}
	}
	return len(seen)
}

// sectionCodec is the codec name and fmtp a media section gives payload
// type pt. Only the section's own lines count: an rtpmap in another
// section describes another section's payload.
func sectionCodec(m *sdp.MediaDescription, pt string) (name, fmtp string) {
	if _, err := strconv.ParseUint(pt, 10, 8); err != nil {
		return "", ""
	}
	for _, a := range m.Attributes {
		key, rest, _ := strings.Cut(a.Value, " ")
		if key != pt {
			continue
		}
		switch a.Key {
		case "rtpmap":
			name, _, _ = strings.Cut(rest, "/")
		case "fmtp":
			fmtp = rest
		}
	}
	return name, fmtp
}

// admitOffer parses an offer and refuses it when it carries audio the
// member may not send (or receive): the privileges decide before any
// PeerConnection exists. Video is checked per section by the caller.
func admitOffer(offer string, allowAudio bool, audioDenied error) (*offerInfo, error) {
	info, err := parseOffer(offer)
	switch {
	case err != nil:
		return nil, err
	case info.audio && !allowAudio:
		return nil, audioDenied
	}
	return info, nil
}

// videoSources pairs the offer's video sections with the sources a
// request names for them (nil: one main video), and refuses a source the
// member may not send.
func (o *offerInfo) videoSources(named []Source, allowVideo, allowSub bool) (map[string]Source, error) {
	if named == nil {
		named = []Source{SourceMain}
	}
	if len(o.videoMids) > len(named) {
		return nil, fmt.Errorf("%w: %d video sections for %d video sources", ErrBadOffer, len(o.videoMids), len(named))
	}
	mids := map[string]Source{}
	for i, mid := range o.videoMids {
		src := named[i]
		switch {
		case src.Kind() != KindVideo:
			return nil, fmt.Errorf("sfu: %s is not a video source", src)
		case src == SourceSub && !allowSub:
			return nil, ErrSendSubDenied
		case src != SourceSub && !allowVideo:
			return nil, ErrSendVideoDenied
		}
		if _, dup := mids[mid]; dup {
			return nil, fmt.Errorf("%w: two video sections with mid %q", ErrBadOffer, mid)
		}
		for _, other := range mids {
			if other == src {
				return nil, fmt.Errorf("sfu: two video sections send the %s source", src)
			}
		}
		mids[mid] = src
	}
	return mids, nil
}

// videoCodecs picks the video codecs to answer with: H.264 whenever it was
// offered, even if the offer lists VP8 first; VP8 otherwise.
func (o *offerInfo) videoCodecs() []webrtc.RTPCodecParameters {
	mime := MimeVP8
	if o.h264 {
		mime = MimeH264
	}
	var out []webrtc.RTPCodecParameters
	for _, c := range roomCodecs {
		if c.MimeType == mime {
			out = append(out, c)
		}
	}
	return out
}

// withBitrate adds the publisher's bitrate range to the video sections of
// an answer: b=AS and b=TIAS cap what the browser sends, and
// x-google-min/max-bitrate bound Chrome's encoder.
func withBitrate(answer string, minKbps, maxKbps int) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return "", err
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "video" || m.MediaName.Port.Value == 0 {
			continue
		}
		m.Bandwidth = append(m.Bandwidth,
			sdp.Bandwidth{Type: "AS", Bandwidth: uint64(maxKbps)},
			sdp.Bandwidth{Type: "TIAS", Bandwidth: uint64(maxKbps) * 1000})
		google := fmt.Sprintf("x-google-min-bitrate=%d;x-google-max-bitrate=%d;x-google-start-bitrate=%d", minKbps, maxKbps, minKbps)
		hasFmtp := map[string]bool{}
		for i, a := range m.Attributes {
			if a.Key == "fmtp" {
				m.Attributes[i].Value = a.Value + ";" + google
				pt, _, _ := strings.Cut(a.Value, " ")
				hasFmtp[pt] = true
			}
		}
		for _, pt := range m.MediaName.Formats { // VP8 has no fmtp line of its own
			if !hasFmtp[pt] {
				m.Attributes = append(m.Attributes, sdp.Attribute{Key: "fmtp", Value: pt + " " + google})
			}
		}
	}
	out, err := sd.Marshal()
	return string(out), err
}

// Data channels. Nothing in trtcd uses one, but pion answers an offered
// data channel section and keeps every channel the client then opens,
// with its label of up to 64 KB, until the session ends: 1,000 channels
// with 60 KB labels grew the server by 144 MB, and a session may open
// 65,535. So the section is refused, as JSEP lets an answerer do: pion
// gets it with port 0 and starts no SCTP, and the client's answer rejects
// it (port 0, and out of the BUNDLE group).

// refuseDataOffer rewrites an offer's data channel sections as rejected,
// and returns their mids (nil, and the offer as it was, when it has none).
func refuseDataOffer(offer string) (string, []string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	mids := rejectDataSections(&sd)
	if mids == nil {
		return offer, nil, nil
	}
	b, err := sd.Marshal()
	return string(b), mids, err
}

// refuseDataAnswer rejects the data channel sections of an answer, and
// takes their mids out of its BUNDLE group.
func refuseDataAnswer(answer string, offered []string) (string, error) {
	if offered == nil {
		return answer, nil
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return "", err
	}
	mids := rejectDataSections(&sd)
	for i, a := range sd.Attributes {
		if group, ok := strings.CutPrefix(a.Value, "BUNDLE"); ok && a.Key == "group" {
			kept := []string{"BUNDLE"}
			for _, mid := range strings.Fields(group) {
				if !slices.Contains(mids, mid) {
					kept = append(kept, mid)
				}
			}
			sd.Attributes[i].Value = strings.Join(kept, " ")
		}
	}
	b, err := sd.Marshal()
	return string(b), err
}

// rejectDataSections sets the port of the data channel sections to 0
// (RFC 8843 bundle-only ones too, which pion would otherwise start), and
// returns their mids.
func rejectDataSections(sd *sdp.SessionDescription) []string {
	var mids []string
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "application" {
			continue
		}
		m.MediaName.Port = sdp.RangedPort{Value: 0}
		m.Attributes = slices.DeleteFunc(m.Attributes, func(a sdp.Attribute) bool { return a.Key == "bundle-only" })
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	return mids
}
