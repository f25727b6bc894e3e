package cluster

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/trtcd/trtcd/sfu"
)

// The relay protocol. Each relayed track has a bidirectional QUIC stream,
// its control stream; its live media travels sealed beside the QUIC
// connection (mediakeys.go), or in QUIC datagrams with a node that does
// not seal:
//
//	near → far  hello (a JSON line): which track, and whether the near
//	            side takes sealed media
//	far → near  answer (a JSON line): the track's codec, the stream id
//	            that names the track in datagrams, and whether the far
//	            side seals; or an error
//	near → far  'G': the near side demultiplexes the id now; media starts
//	far → near  sealed datagrams (mediakeys.go): records of the stream id
//	            and one RTP packet as published, several tracks' packets
//	            in one datagram; or QUIC datagrams: the 4-byte big-endian
//	            stream id and one RTP packet as published
//	far → near  on the control stream, RTP packets framed with a 2-byte
//	            big-endian length: resends, and packets too large for a
//	            datagram (counted; never dropped silently)
//	near → far  feedback: 'K' asks the publisher for a keyframe; 'N', a
//	            4-byte SSRC, a 2-byte packet id and a 2-byte bitmask (an
//	            RTCP generic NACK entry, in the publisher's numbering) asks
//	            for packets again; 'B' and a 4-byte kbps is the lowest
//	            estimate of the near side's viewers (the publisher's
//	            bitrate cap follows it, as for local viewers)
//
// Datagrams can be lost but never wait for each other: live media is never
// held behind a lost packet. The near side NACKs a gap in the sequence
// numbers as soon as it sees it, and the far side resends from the
// publisher track's packet cache over the reliable control stream, so one
// NACK per gap is enough.
//
// Who asks is known from the connection: both nodes proved themselves with
// certificates from the cluster CA (pki.go).

type hello struct {
	Room string `json:"room"`
	User string `json:"user"`
	Kind string `json:"kind"`
	// Sealed says the near side takes sealed media datagrams on this
	// connection (mediakeys.go); a node of an earlier version omits it.
	Sealed bool `json:"sealed,omitempty"`
}

type answer struct {
	Error  string `json:"error,omitempty"`
	Stream uint32 `json:"stream,omitempty"` // the track's id in datagrams
	// Sealed says the far side sends the live packets sealed; else in
	// QUIC datagrams.
	Sealed      bool   `json:"sealed,omitempty"`
	MimeType    string `json:"mime,omitempty"`
	ClockRate   uint32 `json:"clock,omitempty"`
	Channels    uint16 `json:"channels,omitempty"`
	SDPFmtpLine string `json:"fmtp,omitempty"`
}

const (
	feedbackKeyframe = 'K'
	feedbackStart    = 'G'
	feedbackNACK     = 'N' // followed by nackSize bytes
	feedbackBitrate  = 'B' // followed by 4 bytes: kbps
	nackSize         = 8
	// datagramHeader is the stream id before the RTP packet in a datagram.
	datagramHeader = 4
	// maxLine bounds a hello or answer line.
	maxLine = 4096
)

var errTooLarge = errors.New("cluster: relay packet larger than an RTP packet can be")

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func readLine(r *bufio.Reader, v any) error {
	var line []byte
	for {
		part, more, err := r.ReadLine()
		if err != nil {
			return err
		}
		line = append(line, part...)
		if len(line) > maxLine {
			return fmt.Errorf("cluster: relay line longer than %d bytes", maxLine)
		}
		if !more {
			break
		}
	}
	return json.Unmarshal(line, v)
}

func codecOf(a answer) sfu.Codec {
	return sfu.Codec{MimeType: a.MimeType, ClockRate: a.ClockRate, Channels: a.Channels, SDPFmtpLine: a.SDPFmtpLine}
}

func answerFor(c sfu.Codec) answer {
	return answer{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine}
}

// nack asks for packet pid of ssrc and those blp marks (bit i: pid+i+1).
type nack struct {
	ssrc     uint32
	pid, blp uint16
}

func (k nack) put(b []byte) {
	binary.BigEndian.PutUint32(b, k.ssrc)
	binary.BigEndian.PutUint16(b[4:], k.pid)
	binary.BigEndian.PutUint16(b[6:], k.blp)
}

func readNACK(b []byte) nack {
	return nack{ssrc: binary.BigEndian.Uint32(b), pid: binary.BigEndian.Uint16(b[4:]), blp: binary.BigEndian.Uint16(b[6:])}
}

// readPacket reads one framed packet into buf.
func readPacket(r *bufio.Reader, buf []byte) (int, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return 0, err
	}
	size := int(binary.BigEndian.Uint16(n[:]))
	if size > len(buf) {
		return 0, errTooLarge
	}
	return io.ReadFull(r, buf[:size])
}
