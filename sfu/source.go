package sfu

// Source is which of a member's streams a track is. TRTC's model has four:
// audio, the main (big) video, the small video (a downscaled copy for
// phones and thumbnails) and the sub-stream (the screen share, "aux" in the
// Web SDK and in stream ids). A member publishes at most one track of each.
type Source uint8

const (
	SourceAudio Source = iota + 1
	SourceMain
	SourceSmall
	SourceSub
)

// Sources lists every source, in the order of TRTC's uplink m-sections.
var Sources = [...]Source{SourceAudio, SourceMain, SourceSmall, SourceSub}

// Kind is the media a source carries.
func (s Source) Kind() Kind {
	if s == SourceAudio {
		return KindAudio
	}
	return KindVideo
}

// String names the source as trtcd's events and the cluster's wire do:
// "audio" and "video" for the main stream, as before the other two existed.
func (s Source) String() string {
	switch s {
	case SourceAudio:
		return "audio"
	case SourceMain:
		return "video"
	case SourceSmall:
		return "small"
	case SourceSub:
		return "sub"
	}
	return "unknown"
}

// ParseSource is String's inverse.
func ParseSource(name string) (Source, bool) {
	for _, s := range Sources {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// mainSource is the source a track of kind k is when nothing says otherwise.
func mainSource(k Kind) Source {
	if k == KindAudio {
		return SourceAudio
	}
	return SourceMain
}

// slot is which publishing session of a member a source belongs to: the
// sub-stream may come from a session of its own (a second WHIP publish, a
// screen-share PeerConnection) without replacing the camera's.
type slot uint8

const (
	slotMain slot = iota
	slotSub
	slots
)

// slotOf is the slot of a session that publishes sources: sub when it
// publishes the sub-stream only.
func slotOf(sources []Source) slot {
	for _, s := range sources {
		if s != SourceSub {
			return slotMain
		}
	}
	return slotSub
}
