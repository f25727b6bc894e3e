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

// The relay protocol, one bidirectional QUIC stream per relayed track:
//
//	near → far  hello (a JSON line): which track
//	far → near  answer (a JSON line): the track's codec, or an error
//	far → near  RTP packets, each a 2-byte big-endian length and the bytes
//	near → far  feedback bytes: 'K' asks the publisher for a keyframe
//
// Who asks is known from the connection: both nodes proved themselves with
// certificates from the cluster CA (pki.go).

type hello struct {
	Room string `json:"room"`
	User string `json:"user"`
	Kind string `json:"kind"`
}

type answer struct {
	Error       string `json:"error,omitempty"`
	MimeType    string `json:"mime,omitempty"`
	ClockRate   uint32 `json:"clock,omitempty"`
	Channels    uint16 `json:"channels,omitempty"`
	SDPFmtpLine string `json:"fmtp,omitempty"`
}

const (
	feedbackKeyframe = 'K'
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

// writePacket frames one RTP packet.
func writePacket(w *bufio.Writer, b []byte) error {
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
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

func parseKind(s string) (sfu.Kind, bool) {
	switch s {
	case "audio":
		return sfu.KindAudio, true
	case "video":
		return sfu.KindVideo, true
	}
	return 0, false
}
