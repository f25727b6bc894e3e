package websdk

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pion/sdp/v3"
)

// The SDK's MediaStream ids: it tells a remote user's main stream (camera
// and microphone) from the screen share ("auxiliary") by these, so a
// subscriber answer's audio and main video carry the first and its
// auxiliary section the second.
const (
	mainStreamID = "5Y2wZK8nANNAoVw6dSAHVjNxrD1ObBM2kBPV"
	auxStreamID  = "224d130c-7b5c-415b-aaa2-79c2eb5a6df2"
)

// The SDK's m-sections, in the fixed order it adds its transceivers.
const (
	upAudio = iota // uplink: microphone
	upVideo        //         camera
	upSmall        //         the camera's downscaled copy
	upAux          //         screen share
)

const (
	downAudio = iota // downlink: the remote user's audio
	downVideo        //           main video (big or small)
	downAux          //           screen share
)

// emptyExtmap matches the line the SDK leaves when it blanks the
// video-orientation extension's URI in its own offer: "a=extmap:13 " is not
// valid SDP and pion refuses the whole offer over it.
var emptyExtmap = regexp.MustCompile(`(?m)^a=extmap:\d+[ \t]*\r?\n`)

// sanitize removes what the SDK adds to its offers that is not valid SDP.
func sanitize(offer string) string { return emptyExtmap.ReplaceAllString(offer, "") }

var errSDP = errors.New("websdk: unusable offer")

// offer is a parsed SDK offer and the sections of it the SFU takes.
type offer struct {
	sd   sdp.SessionDescription
	keep []bool // per m-section: handed to the SFU
}

// parseOffer parses an SDK offer; want says which sections go to the SFU.
func parseOffer(text string, want func(i int, kind string) bool) (*offer, error) {
	o := &offer{}
	if err := o.sd.UnmarshalString(sanitize(text)); err != nil {
		return nil, fmt.Errorf("%w: %v", errSDP, err)
	}
	some := false
	for i, m := range o.sd.MediaDescriptions {
		k := want(i, m.MediaName.Media) && m.MediaName.Port.Value != 0
		o.keep = append(o.keep, k)
		some = some || k
	}
	if !some {
		return nil, fmt.Errorf("%w: no section this server can take", errSDP)
	}
	return o, nil
}

// kept reports whether the section at i goes to the SFU.
func (o *offer) kept(i int) bool { return i < len(o.keep) && o.keep[i] }

// mid is the mid of the offer's section at i ("" if it has none).
func (o *offer) mid(i int) string {
	if i >= len(o.sd.MediaDescriptions) {
		return ""
	}
	mid, _ := o.sd.MediaDescriptions[i].Attribute("mid")
	return mid
}

// forSFU is the offer with only the kept sections, in one BUNDLE group.
func (o *offer) forSFU() (string, error) {
	sd := o.sd
	sd.MediaDescriptions = nil
	var mids []string
	for i, m := range o.sd.MediaDescriptions {
		if o.keep[i] {
			sd.MediaDescriptions = append(sd.MediaDescriptions, m)
			if mid, ok := m.Attribute("mid"); ok {
				mids = append(mids, mid)
			}
		}
	}
	sd.Attributes = withBundle(o.sd.Attributes, mids)
	b, err := sd.Marshal()
	return string(b), err
}

// widen turns the SFU's answer to forSFU back into an answer to the whole
// offer: every section the SFU did not see is answered with direction dir
// (recvonly or inactive), the offer's own codecs and the answer's ICE and
// DTLS parameters. The SDK needs every section answered, each with exactly
// one direction line, all in one BUNDLE group (it asks for max-bundle).
func (o *offer) widen(answer, dir string) (string, error) {
	var a sdp.SessionDescription
	if err := a.UnmarshalString(answer); err != nil {
		return "", fmt.Errorf("websdk: the SFU's answer: %w", err)
	}
	if len(a.MediaDescriptions) == 0 {
		return "", errors.New("websdk: the SFU's answer has no media")
	}
	transport := transportOf(&a)
	out := a
	out.MediaDescriptions = nil
	var mids []string
	next := 0
	for i, m := range o.sd.MediaDescriptions {
		var am *sdp.MediaDescription
		if o.keep[i] {
			if next >= len(a.MediaDescriptions) {
				return "", errors.New("websdk: the SFU's answer has fewer sections than its offer")
			}
			am = a.MediaDescriptions[next]
			next++
		} else {
			am = idleSection(m, transport, dir)
		}
		out.MediaDescriptions = append(out.MediaDescriptions, am)
		if mid, ok := am.Attribute("mid"); ok {
			mids = append(mids, mid)
		}
	}
	out.Attributes = withBundle(a.Attributes, mids)
	b, err := out.Marshal()
	return string(b), err
}

// transport is what every section of an answer shares: the ICE and DTLS
// attributes, and the address and candidates. pion writes the candidates
// in its first section only; an idle section carries them too, because the
// browser takes them from the first section of the BUNDLE group, which
// may be one the SFU never saw (a screen share publishes no audio).
type transport struct {
	port  sdp.RangedPort
	conn  *sdp.ConnectionInformation
	attrs []sdp.Attribute
}

func transportOf(a *sdp.SessionDescription) transport {
	first := a.MediaDescriptions[0]
	t := transport{port: first.MediaName.Port, conn: first.ConnectionInformation}
	for _, attr := range first.Attributes {
		switch attr.Key {
		case "ice-ufrag", "ice-pwd", "fingerprint", "setup", "candidate", "end-of-candidates":
			t.attrs = append(t.attrs, attr)
		}
	}
	return t
}

// idleSection answers an offered section that carries no media here.
func idleSection(m *sdp.MediaDescription, t transport, dir string) *sdp.MediaDescription {
	out := &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: m.MediaName.Media, Port: t.port,
			Protos: m.MediaName.Protos, Formats: m.MediaName.Formats},
		ConnectionInformation: t.conn,
	}
	if mid, ok := m.Attribute("mid"); ok {
		out.Attributes = append(out.Attributes, sdp.Attribute{Key: "mid", Value: mid})
	}
	out.Attributes = append(out.Attributes, t.attrs...)
	out.Attributes = append(out.Attributes, sdp.Attribute{Key: "rtcp-mux"}, sdp.Attribute{Key: dir})
	for _, attr := range m.Attributes {
		switch attr.Key {
		case "rtpmap", "fmtp", "rtcp-fb":
			out.Attributes = append(out.Attributes, attr)
		}
	}
	return out
}

// withBundle replaces the group:BUNDLE attribute with one for mids.
func withBundle(attrs []sdp.Attribute, mids []string) []sdp.Attribute {
	out := make([]sdp.Attribute, 0, len(attrs)+1)
	for _, a := range attrs {
		if a.Key == "group" && strings.HasPrefix(a.Value, "BUNDLE") {
			continue
		}
		out = append(out, a)
	}
	if len(mids) > 0 {
		out = append([]sdp.Attribute{{Key: "group", Value: "BUNDLE " + strings.Join(mids, " ")}}, out...)
	}
	return out
}

// withStreamIDs rewrites a subscriber answer's MediaStream ids to the
// SDK's: the section with mid auxMid carries the auxiliary stream id, the
// others the main one. Only the browser reads them (the SFU sends by SSRC),
// so the text is all that changes.
func withStreamIDs(answer, auxMid string) (string, error) {
	var a sdp.SessionDescription
	if err := a.UnmarshalString(answer); err != nil {
		return "", fmt.Errorf("websdk: the SFU's answer: %w", err)
	}
	for _, m := range a.MediaDescriptions {
		id := mainStreamID
		if mid, ok := m.Attribute("mid"); ok && auxMid != "" && mid == auxMid {
			id = auxStreamID
		}
		for i, attr := range m.Attributes {
			switch attr.Key {
			case "msid": // "<stream> <track>"
				if _, track, ok := strings.Cut(attr.Value, " "); ok {
					m.Attributes[i].Value = id + " " + track
				}
			case "ssrc": // "<ssrc> msid:<stream> <track>" or "<ssrc> mslabel:<stream>"
				ssrc, prop, _ := strings.Cut(attr.Value, " ")
				name, val, _ := strings.Cut(prop, ":")
				switch name {
				case "msid":
					if _, track, ok := strings.Cut(val, " "); ok {
						m.Attributes[i].Value = ssrc + " msid:" + id + " " + track
					}
				case "mslabel":
					m.Attributes[i].Value = ssrc + " mslabel:" + id
				}
			}
		}
	}
	b, err := a.Marshal()
	return string(b), err
}
