package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/trtcd/trtcd/rtmp/flv"
)

// The authenticated pushers of mutated media, and where they publish.
var (
	mutantRTMPRoom = fmt.Sprint(soakAttackRooms + 500)
	mutantWHIPRoom = fmt.Sprint(soakAttackRooms + 501)
)

const (
	mutantRTMP = "mutant-rtmp"
	mutantWHIP = "mutant-whip"
)

// mutatedAttacks are clients with valid userSigs whose media is broken:
// an RTMP pusher and a WHIP publisher, both recorded, and HTTP-FLV players
// of both, so that mutated input runs through ingest, the recorder,
// depacketising and transcoding.
func mutatedAttacks(srv *soakServer, d time.Duration) []*attack {
	return []*attack{
		newAttack("RTMP", "authenticated pusher, recorded: bit flips, truncation, NAL length 0 after the sequence header "+
			"(1 push in 4 breaks tag headers, sequence headers and codecs too)", fromMutated, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 5), 1, 200*time.Millisecond, func(ctx context.Context, i int) { mutatedPush(ctx, a, srv.rtmp, i%4 != 0) })
		}),
		newAttack("WHIP", "authenticated publisher, recorded, WHEP-played: mutated H.264 and Opus payloads, sequence and timestamp jumps", fromMutated, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 1), 1, time.Second, func(ctx context.Context, i int) { mutatedWHIP(ctx, a, srv, i) })
		}),
		newAttack("HTTP-FLV", "players of the mutated streams", fromMutated, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 2), 2, 500*time.Millisecond, func(ctx context.Context, i int) { mutantPlayer(ctx, a, srv, i) })
		}),
	}
}

// mutatedPush publishes for up to 10 s (then again: every start runs the
// sequence-header paths once more) until the server ends the push. A deep
// push keeps every tag's header good and breaks what is inside, so that
// the server keeps the push and the broken pictures and frames go through
// depacketising, the recorder and the transcoder; the others break
// headers too, which ends a push at once.
func mutatedPush(ctx context.Context, a *attack, addr string, deep bool) {
	p, ok := a.rtmpConn(ctx, addr)
	if !ok {
		return
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, p.Close)
	defer stop()
	sig, _ := benchAuth(mutantRTMPRoom, mutantRTMP)
	stream := fmt.Sprintf("%d_%s_%s_main?usersig=%s&recordid=soak-mutant-rtmp", benchApp, mutantRTMPRoom, mutantRTMP, url.QueryEscape(sig))
	p.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := p.publish("rtmp://"+addr+"/live", "live", stream); err != nil {
		a.count("publish refused: " + err.Error())
		return
	}
	p.nc.SetDeadline(time.Time{})
	go p.drain()
	life, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := sendMutatedFLV(life, p, a, deep)
	kind := "header-breaking push"
	if deep {
		kind = "deep push"
	}
	switch {
	case ctx.Err() != nil:
	case err != nil:
		a.count(kind + " ended by server" + suffix(classify(err)))
	default:
		a.count(kind + " lasted 10 s")
	}
}

// sendMutatedFLV sends the sequence headers, the NAL of length 0 that
// crashed trtcd (issue 16), then video and audio in real time, about half
// of the tags mutated, until ctx ends.
func sendMutatedFLV(ctx context.Context, p *rtmpPusher, a *attack, deep bool) error {
	asc, frames, err := aacTone()
	if err != nil {
		return err
	}
	record, err := flv.BuildAVCConfig(rtmpSPS, rtmpPPS)
	if err != nil {
		return err
	}
	seqV := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: record})
	for _, t := range []struct {
		typ  uint8
		body []byte
	}{{rtmpVideo, seqV}, {rtmpAudio, flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)}, {rtmpVideo, zeroLengthNAL()}} {
		if err := p.WriteTag(t.typ, 0, t.body); err != nil {
			return err
		}
	}
	key, delta := pictureTag(true, 3000), pictureTag(false, 800)
	video, audio := time.NewTicker(66*time.Millisecond), time.NewTicker(23*time.Millisecond)
	defer video.Stop()
	defer audio.Stop()
	for v, n := 0, 0; ; {
		var typ uint8
		var body []byte
		select {
		case <-ctx.Done():
			return nil
		case <-video.C:
			good := delta
			if v%30 == 0 {
				good = key
			}
			typ, body = rtmpVideo, mutateVideo(good, record, deep)
			v++
		case <-audio.C:
			typ, body = rtmpAudio, mutateAudio(flv.AppendAudioTag(nil, flv.AACRaw, frames[n%len(frames)]), deep)
		}
		n++
		if err := p.WriteTag(typ, mutateTS(uint32(n*23)), body); err != nil {
			return err
		}
		a.sent.Add(1)
	}
}

// zeroLengthNAL is a video tag whose AVCC NAL length prefix is 0.
func zeroLengthNAL() []byte {
	return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCNALU, Data: []byte{0, 0, 0, 0}})
}

// mutateTS mostly keeps the timestamp; sometimes it jumps back, far ahead
// or to the 32-bit edge.
func mutateTS(ts uint32) uint32 {
	switch rand.IntN(50) {
	case 0:
		return ts / 2
	case 1:
		return ts + 1<<30
	case 2:
		return 0xffffffff
	}
	return ts
}

// mutateVideo returns good (a 5-byte AVC tag header, then AVCC NAL
// units) as it is about half of the time; otherwise it breaks the NAL
// units inside (deep) or, when not deep, also the header, the sequence
// header or the codec.
func mutateVideo(good, record []byte, deep bool) []byte {
	kinds := 11
	if !deep {
		kinds = 15
	}
	switch rand.IntN(kinds) {
	case 5:
		return flipBitsFrom(good, 5)
	case 6:
		return good[:5+rand.IntN(len(good)-4)]
	case 7: // NAL length 0, then a real NAL
		return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameInter, AVCPacketType: flv.AVCNALU,
			Data: append([]byte{0, 0, 0, 0, 0, 0, 0, 2}, 0x41, 0x9a)})
	case 8: // a NAL length past the end
		return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCNALU, Data: []byte{0, 0, 0xff, 0xff, 0x65, 1, 2}})
	case 9: // NAL units of one or two bytes, and of any type with junk
		nal := [][]byte{{0x65}, {0x67}, {0x68}, {0x7c}, {0x78}, {0x00}, {0x1f}, {0x7c, 0x85}, {0x67, 0xff},
			append([]byte{byte(rand.Uint32())}, randomBytes(rand.IntN(300))...)}[rand.IntN(10)]
		avcc, _ := flv.AppendAVCC(nil, 4, nal)
		return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCNALU, Data: avcc})
	case 11:
		return flipBits(good)
	case 12:
		return good[:rand.IntN(len(good))]
	case 13:
		return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: badAVCConfig(record)})
	case 14: // end of sequence, unknown packet types, command frames, other codecs, nothing
		return [][]byte{{0x17, 0x02, 0, 0, 0}, {0x17, 0x07, 0, 0, 0, 1}, {0x57, 0x00}, {0x12, 1, 2, 3}, {0x1c, 0, 0, 0, 0},
			{0x90, 'h', 'v', 'c', '1', 0}, {}, {0x17}}[rand.IntN(8)]
	}
	return good
}

// badAVCConfig is a decoder configuration record broken in one of several
// ways: flipped, cut, claiming 31 SPS, 1-byte NAL lengths, or an SPS of
// random bytes (exp-Golomb codes with no end).
func badAVCConfig(record []byte) []byte {
	switch rand.IntN(5) {
	case 0:
		return flipBits(record)
	case 1:
		return record[:rand.IntN(len(record))]
	case 2:
		r := append([]byte(nil), record...)
		r[5] = 0xff
		return r
	case 3:
		r := append([]byte(nil), record...)
		r[4] = 0xfc
		return r
	}
	sps := append([]byte{0x67}, [][]byte{randomBytes(20), make([]byte, 20), {0x42, 0, 0, 0, 0, 0, 1}}[rand.IntN(3)]...)
	r, _ := flv.BuildAVCConfig(sps, rtmpPPS)
	return r
}

// mutateAudio returns good (a 2-byte AAC tag header, then a raw frame)
// as it is about half of the time; otherwise it breaks the frame (deep)
// or, when not deep, also sends an impossible or unsupported
// AudioSpecificConfig, another sound format, or junk.
func mutateAudio(good []byte, deep bool) []byte {
	kinds := 8
	if !deep {
		kinds = 11
	}
	switch rand.IntN(kinds) {
	case 5:
		return flipBitsFrom(good, 2)
	case 6:
		return good[:2+rand.IntN(len(good)-1)]
	case 7:
		return flv.AppendAudioTag(nil, flv.AACRaw, randomBytes(rand.IntN(400)))
	case 8: // object types 0, 31 (escape), 5 (SBR) and 29 (PS); rate index 15; channel configs 0 and 15; one byte
		asc := [][]byte{{0x00, 0x00}, {0xf8, 0x00, 0x00}, {0x2b, 0x88}, {0xeb, 0x89, 0x88}, {0x17, 0x80, 0, 0, 0}, {0x12, 0x00},
			{0x17, 0xf8}, {0x12}, randomBytes(2 + rand.IntN(6))}[rand.IntN(9)]
		return flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)
	case 9: // MP3, Speex, G.711, a reserved format
		return append([]byte{[]byte{0x2f, 0xb6, 0x72, 0x9f}[rand.IntN(4)]}, randomBytes(100)...)
	case 10: // nothing, a header byte alone, an AACPacketType of 5
		return [][]byte{{}, {0xaf}, {0xaf, 0x05, 1, 2}}[rand.IntN(3)]
	}
	return good
}

// flipBits copies b with 1 to 8 random bits flipped.
func flipBits(b []byte) []byte { return flipBitsFrom(b, 0) }

// flipBitsFrom copies b with 1 to 8 random bits flipped from b[from] on.
func flipBitsFrom(b []byte, from int) []byte {
	out := append([]byte(nil), b...)
	if len(out) <= from {
		return out
	}
	for range 1 + rand.IntN(8) {
		out[from+rand.IntN(len(out)-from)] ^= 1 << rand.IntN(8)
	}
	return out
}

// mutantPlayer plays one of the mutated streams over HTTP-FLV for up to
// 15 s, checking that what the server sends is FLV.
func mutantPlayer(ctx context.Context, a *attack, srv *soakServer, i int) {
	room, publisher := mutantRTMPRoom, mutantRTMP
	if i%2 == 1 {
		room, publisher = mutantWHIPRoom, mutantWHIP
	}
	viewer := fmt.Sprint("mutant-viewer-", i%4)
	sig, _ := benchAuth(room, viewer)
	life, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(life, "GET", fmt.Sprintf("%s/live/%d_%s_%s_main.flv?userId=%s&usersig=%s",
		srv.url, benchApp, room, publisher, viewer, url.QueryEscape(sig)), nil)
	client := &http.Client{Transport: &http.Transport{DialContext: a.dialer().DialContext}}
	defer client.CloseIdleConnections()
	a.tries.Add(1)
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			a.count(classify(err))
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.count(fmt.Sprintf("HTTP %d", resp.StatusCode))
		return
	}
	a.count(readFLVUntilEnd(life, ctx, a, resp))
}

// readFLVUntilEnd reads tags until the stream ends and says how it ended.
func readFLVUntilEnd(life, ctx context.Context, a *attack, resp *http.Response) string {
	if _, _, err := flv.ReadHeader(resp.Body); err != nil {
		return "no FLV header: " + classify(err)
	}
	for {
		if _, err := flv.ReadTag(resp.Body, 16<<20); err != nil {
			switch {
			case ctx.Err() != nil:
				return "still playing at the end"
			case life.Err() != nil:
				return "played 15 s"
			case classify(err) == "closed" || classify(err) == "closed mid-message":
				return "stream ended by server"
			}
			return "the server sent a tag that is not FLV: " + err.Error()
		}
		a.sent.Add(1)
	}
}
