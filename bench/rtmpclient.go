package bench

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/trtcd/trtcd/rtmp"
)

// RTMP message types and chunk streams the pusher uses (RTMP spec 5.4, 7.1).
const (
	rtmpSetChunkSize  = 1
	rtmpAudio         = 8
	rtmpVideo         = 9
	rtmpCommandAMF0   = 20
	rtmpCSIDControl   = 2
	rtmpCSIDCommand   = 3
	rtmpCSIDAudio     = 4
	rtmpCSIDVideo     = 6
	rtmpHandshakeSize = 1536
	// rtmpChunkSize: larger chunks than the default 128 bytes cut the
	// per-chunk headers and syscalls, as ffmpeg and OBS do.
	rtmpChunkSize = 4096
)

// rtmpPusher is a minimal RTMP publishing client: plain handshake,
// connect, createStream, publish, then audio and video messages. It reads
// only what it must (replies, chunk size) and drains the rest.
type rtmpPusher struct {
	nc       net.Conn
	bw       *bufio.Writer
	in       *rtmpReader
	streamID uint32
}

// dialRTMP publishes to rawURL, rtmp://host:port/app/stream?query.
func dialRTMP(rawURL string) (*rtmpPusher, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "rtmp" {
		return nil, fmt.Errorf("RTMP URL %q: want rtmp://host:port/app/stream", rawURL)
	}
	app, stream, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || stream == "" {
		return nil, fmt.Errorf("RTMP URL %q: no app/stream path", rawURL)
	}
	if u.RawQuery != "" {
		stream += "?" + u.RawQuery
	}
	nc, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	p := &rtmpPusher{nc: nc, bw: bufio.NewWriterSize(nc, 64<<10)}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := p.handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("RTMP handshake: %w", err)
	}
	if err := p.publish("rtmp://"+u.Host+"/"+app, app, stream); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	go p.drain()
	return p, nil
}

// handshake is the plain one: C1 with a zero version, C2 echoing S1.
func (p *rtmpPusher) handshake() error {
	c0c1 := make([]byte, 1+rtmpHandshakeSize)
	c0c1[0] = 3
	rand.Read(c0c1[9:])
	if _, err := p.nc.Write(c0c1); err != nil {
		return err
	}
	br := bufio.NewReader(p.nc)
	s := make([]byte, 1+2*rtmpHandshakeSize)
	if _, err := io.ReadFull(br, s); err != nil {
		return err
	}
	if _, err := p.nc.Write(s[1 : 1+rtmpHandshakeSize]); err != nil {
		return err
	}
	p.in = &rtmpReader{r: br, chunkSize: 128, streams: map[uint32]*rtmpChunkStream{}}
	return nil
}

func (p *rtmpPusher) publish(tcURL, app, stream string) error {
	if err := p.write(rtmpCSIDControl, rtmpSetChunkSize, 0, 0, binary.BigEndian.AppendUint32(nil, rtmpChunkSize)); err != nil {
		return err
	}
	if err := p.command(0, "connect", 1.0, rtmp.Object{{Key: "app", Value: app}, {Key: "tcUrl", Value: tcURL},
		{Key: "flashVer", Value: "trtcd-bench/1.0"}, {Key: "type", Value: "nonprivate"}}); err != nil {
		return err
	}
	if _, err := p.await("_result", "_error"); err != nil {
		return fmt.Errorf("RTMP connect: %w", err)
	}
	if err := p.command(0, "createStream", 2.0, nil); err != nil {
		return err
	}
	vals, err := p.await("_result", "_error")
	if err != nil {
		return fmt.Errorf("RTMP createStream: %w", err)
	}
	id, _ := vals[3].(float64)
	p.streamID = uint32(id)
	if err := p.command(p.streamID, "publish", 3.0, nil, stream, app); err != nil {
		return err
	}
	vals, err = p.await("onStatus")
	if err != nil {
		return fmt.Errorf("RTMP publish: %w", err)
	}
	if code, desc := rtmpStatus(vals); code != "NetStream.Publish.Start" {
		return fmt.Errorf("RTMP publish refused: %s: %s", code, desc)
	}
	return nil
}

// rtmpStatus reads code and description of an onStatus.
func rtmpStatus(vals []any) (code, description string) {
	if len(vals) < 4 {
		return "", ""
	}
	obj, _ := vals[3].(rtmp.Object)
	c, _ := obj.Get("code")
	d, _ := obj.Get("description")
	code, _ = c.(string)
	description, _ = d.(string)
	return code, description
}

func (p *rtmpPusher) command(streamID uint32, vals ...any) error {
	b, err := rtmp.AppendAMF0(nil, vals...)
	if err != nil {
		return err
	}
	if err := p.write(rtmpCSIDCommand, rtmpCommandAMF0, streamID, 0, b); err != nil {
		return err
	}
	return p.bw.Flush()
}

// await reads until a command named one of names arrives; _error is an
// error.
func (p *rtmpPusher) await(names ...string) ([]any, error) {
	for {
		typeID, payload, err := p.in.next()
		if err != nil {
			return nil, err
		}
		if typeID != rtmpCommandAMF0 {
			continue
		}
		vals, err := rtmp.DecodeAMF0(payload)
		if err != nil || len(vals) == 0 {
			continue
		}
		for _, n := range names {
			if vals[0] != n {
				continue
			}
			if n == "_error" {
				code, desc := rtmpStatus(vals)
				return nil, fmt.Errorf("%s: %s", code, desc)
			}
			if len(vals) < 4 {
				return nil, fmt.Errorf("short %s: %v", n, vals)
			}
			return vals, nil
		}
	}
}

// drain reads and drops what the server sends while the push runs
// (acknowledgements, pings), so its writes never block.
func (p *rtmpPusher) drain() {
	for {
		if _, _, err := p.in.next(); err != nil {
			return
		}
	}
}

// WriteTag sends one FLV tag body (audio or video) at ts milliseconds.
func (p *rtmpPusher) WriteTag(typeID uint8, ts uint32, body []byte) error {
	csid := uint32(rtmpCSIDVideo)
	if typeID == rtmpAudio {
		csid = rtmpCSIDAudio
	}
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := p.write(csid, typeID, p.streamID, ts, body); err != nil {
		return err
	}
	return p.bw.Flush()
}

// write sends one message: a full (type 0) chunk header, then type 3
// continuation chunks.
func (p *rtmpPusher) write(csid uint32, typeID uint8, streamID, ts uint32, payload []byte) error {
	extended := ts >= 0xffffff
	tsField := min(ts, 0xffffff)
	h := []byte{byte(csid), byte(tsField >> 16), byte(tsField >> 8), byte(tsField),
		byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typeID}
	h = binary.LittleEndian.AppendUint32(h, streamID)
	if extended {
		h = binary.BigEndian.AppendUint32(h, ts)
	}
	p.bw.Write(h)
	for first := true; first || len(payload) > 0; first = false {
		if !first {
			p.bw.WriteByte(0xc0 | byte(csid))
			if extended {
				p.bw.Write(binary.BigEndian.AppendUint32(nil, ts))
			}
		}
		n := min(len(payload), rtmpChunkSize)
		if _, err := p.bw.Write(payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
	}
	return nil
}

// Close ends the push; the server ends the publisher's tracks.
func (p *rtmpPusher) Close() { p.nc.Close() }

// rtmpReader reassembles the server's chunked messages.
type rtmpReader struct {
	r         *bufio.Reader
	chunkSize uint32
	streams   map[uint32]*rtmpChunkStream
}

// rtmpChunkStream is what later, compressed headers of a chunk stream
// inherit from earlier ones.
type rtmpChunkStream struct {
	length   uint32
	typeID   uint8
	extended bool
	buf      []byte
}

// next returns the next complete message, following Set Chunk Size.
func (r *rtmpReader) next() (uint8, []byte, error) {
	for {
		b0, err := r.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		format, csid := b0>>6, uint32(b0&0x3f)
		switch csid {
		case 0, 1:
			ext := make([]byte, 1+csid)
			if _, err := io.ReadFull(r.r, ext); err != nil {
				return 0, nil, err
			}
			csid = 64 + uint32(ext[0])
			if len(ext) == 2 {
				csid += 256 * uint32(ext[1])
			}
		}
		cs := r.streams[csid]
		if cs == nil {
			cs = &rtmpChunkStream{}
			r.streams[csid] = cs
		}
		header := make([]byte, [4]int{11, 7, 3, 0}[format])
		if _, err := io.ReadFull(r.r, header); err != nil {
			return 0, nil, err
		}
		if format < 3 {
			cs.extended = header[0] == 0xff && header[1] == 0xff && header[2] == 0xff
		}
		if format < 2 {
			cs.length = uint32(header[3])<<16 | uint32(header[4])<<8 | uint32(header[5])
			cs.typeID = header[6]
		}
		if cs.extended {
			if _, err := io.ReadFull(r.r, make([]byte, 4)); err != nil {
				return 0, nil, err
			}
		}
		n := min(cs.length-uint32(len(cs.buf)), r.chunkSize)
		chunk := make([]byte, n)
		if _, err := io.ReadFull(r.r, chunk); err != nil {
			return 0, nil, err
		}
		cs.buf = append(cs.buf, chunk...)
		if uint32(len(cs.buf)) < cs.length {
			continue
		}
		msg := cs.buf
		cs.buf = nil
		if cs.typeID == rtmpSetChunkSize && len(msg) >= 4 {
			r.chunkSize = max(binary.BigEndian.Uint32(msg)&0x7fffffff, 1)
		}
		return cs.typeID, msg, nil
	}
}
