package rtpframe

import "encoding/binary"

// H.264 NAL unit types used here (ITU-T H.264 table 7-1, RFC 6184).
const (
	NALSlice = 1
	NALIDR   = 5
	NALSPS   = 7
	NALPPS   = 8
	NALAUD   = 9
	nalSTAPA = 24
	nalFUA   = 28
)

// NALType is the type of a NAL unit (its first byte's low five bits); 0,
// "unspecified", for an empty one, which is no NAL unit at all.
func NALType(nal []byte) byte {
	if len(nal) == 0 {
		return 0
	}
	return nal[0] & 0x1f
}

// PlainNAL reports whether nal is a NAL unit that H.264 defines (types 1 to
// 23). Types 24 to 31 are RFC 6184's aggregation and fragmentation packets,
// which a receiver would take apart as such, and 0 is unspecified: a
// publisher's stream that carries them is broken, and they are not sent on.
func PlainNAL(nal []byte) bool {
	t := NALType(nal)
	return t >= 1 && t <= 23
}

// rtpHeaderSize: RTP headers written here carry no CSRCs or extensions.
const rtpHeaderSize = 12

// Packetizer numbers and stamps the RTP packets of one outgoing stream and
// builds each in a buffer it reuses.
type Packetizer struct {
	PayloadType uint8
	SSRC        uint32
	seq         uint16
	buf         [1500]byte
}

// Packet writes the header and payload parts into the buffer and returns
// the packet; it is valid until the next call.
func (w *Packetizer) Packet(ts uint32, marker bool, parts ...[]byte) []byte {
	b := w.buf[:rtpHeaderSize]
	b[0] = 0x80
	b[1] = w.PayloadType
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], w.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], w.SSRC)
	w.seq++
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// maxRTPPayload keeps packets under a 1200-byte MTU budget, as browsers do.
const maxRTPPayload = 1200 - rtpHeaderSize

// PacketizeNALU sends one NAL unit as a single-NAL packet, or as FU-A
// fragments when it is larger than maxRTPPayload (RFC 6184 5.6 and 5.8).
// last marks the access unit's final NAL: its last packet carries the
// marker bit.
func (w *Packetizer) PacketizeNALU(nal []byte, ts uint32, last bool, send func([]byte)) {
	if len(nal) == 0 {
		return
	}
	if len(nal) <= maxRTPPayload {
		send(w.Packet(ts, last, nal))
		return
	}
	indicator := nal[0]&0xe0 | nalFUA
	header := nal[0] & 0x1f
	data := nal[1:]
	first := true
	for len(data) > 0 {
		n := min(len(data), maxRTPPayload-2)
		fu := [2]byte{indicator, header}
		if first {
			fu[1] |= 0x80 // start
			first = false
		}
		end := n == len(data)
		if end {
			fu[1] |= 0x40
		}
		send(w.Packet(ts, last && end, fu[:], data[:n]))
		data = data[n:]
	}
}

// depacketizer reassembles H.264 access units from RTP payloads (single
// NAL, STAP-A, FU-A) as AVCC (4-byte lengths), for FLV.
type depacketizer struct {
	au       []byte // the access unit being assembled, AVCC
	done     []byte // the last one returned (its storage is reused after)
	open     bool
	fuStart  int // where the FU-A NAL being assembled starts in au (-1: none)
	ts       uint32
	keyframe bool
	broken   bool // a packet of this access unit was lost or malformed
	sps, pps []byte
}

// maxAccessUnit bounds one reassembled picture; larger is garbage.
const maxAccessUnit = 4 << 20

// push adds one packet's payload; lost says packets went missing before
// it, which spoils the picture being assembled. It returns a complete
// access unit when the marker bit ends one, or when a new timestamp shows
// the last one ended without its marker; the returned slice is valid until
// the next call.
func (d *depacketizer) push(payload []byte, ts uint32, marker, lost bool) (au []byte, auTS uint32, keyframe, ok bool) {
	if d.open && ts != d.ts {
		au, auTS, keyframe, ok = d.finish()
	}
	if !d.open {
		d.open, d.ts, d.keyframe, d.broken, d.fuStart = true, ts, false, false, -1
	}
	d.broken = d.broken || lost
	d.add(payload)
	if marker && !ok {
		return d.finish()
	}
	return au, auTS, keyframe, ok
}

// finish closes the access unit being assembled and returns it if whole.
func (d *depacketizer) finish() ([]byte, uint32, bool, bool) {
	d.open = false
	d.au, d.done = d.done[:0], d.au
	au := d.done
	if d.broken || d.fuStart >= 0 || len(au) == 0 {
		return nil, 0, false, false
	}
	return au, d.ts, d.keyframe, true
}

func (d *depacketizer) add(p []byte) {
	if len(p) == 0 || len(d.au)+len(p)+16 > maxAccessUnit {
		d.broken = true
		return
	}
	t := NALType(p)
	if d.fuStart >= 0 && t != nalFUA {
		d.broken = true // the fragmented NAL unit never ended
		return
	}
	switch {
	case PlainNAL(p):
		d.nal(p)
	case t == nalSTAPA:
		d.aggregate(p[1:])
	case t == nalFUA:
		d.fragment(p)
	default:
		d.broken = true
	}
}

// aggregate adds the NAL units of a STAP-A payload (after its header).
func (d *depacketizer) aggregate(rest []byte) {
	for len(rest) > 0 {
		if len(rest) < 2 {
			d.broken = true
			return
		}
		n := int(binary.BigEndian.Uint16(rest))
		if n == 0 || 2+n > len(rest) || !PlainNAL(rest[2:2+n]) {
			d.broken = true
			return
		}
		d.nal(rest[2 : 2+n])
		rest = rest[2+n:]
	}
}

func (d *depacketizer) fragment(p []byte) {
	if len(p) < 3 {
		d.broken = true
		return
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	if t := p[1] & 0x1f; t == 0 || t > 23 {
		d.broken = true // a fragment of something that is not a NAL unit
		return
	}
	if start && d.fuStart >= 0 {
		d.broken = true // a new NAL unit began before the last one ended
		return
	}
	if start {
		d.fuStart = len(d.au)
		d.au = append(d.au, 0, 0, 0, 0, p[0]&0xe0|p[1]&0x1f)
	} else if d.fuStart < 0 {
		d.broken = true
		return
	}
	d.au = append(d.au, p[2:]...)
	if end {
		nal := d.au[d.fuStart+4:]
		binary.BigEndian.PutUint32(d.au[d.fuStart:], uint32(len(nal)))
		d.fuStart = -1
		d.note(nal)
	}
}

// nal appends a whole NAL unit.
func (d *depacketizer) nal(n []byte) {
	d.au = binary.BigEndian.AppendUint32(d.au, uint32(len(n)))
	d.au = append(d.au, n...)
	d.note(n)
}

// Parameter sets outside these sizes cannot be real (an SPS starts with
// profile, constraints and level; a PPS has at least two ids) and would only
// make FLV and MP4 sample descriptions fail: they are not remembered.
const (
	minSPS, minPPS = 4, 2
	maxParamSet    = 0xffff // what AVC records and MP4 sample entries can hold
)

// note remembers parameter sets and whether the picture is a keyframe.
func (d *depacketizer) note(n []byte) {
	switch NALType(n) {
	case NALIDR:
		d.keyframe = true
	case NALSPS:
		if len(n) >= minSPS && len(n) <= maxParamSet {
			d.sps = append(d.sps[:0], n...)
		}
	case NALPPS:
		if len(n) >= minPPS && len(n) <= maxParamSet {
			d.pps = append(d.pps[:0], n...)
		}
	}
}
