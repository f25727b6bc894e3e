package codec

import "fmt"

// opusInput is the half that OpusToAAC and OpusToMP3 share: RTP Opus
// payloads in, gap-free PCM at the encoder's rate out to the encoder's
// encode function, and the caller's emit function (E) held during Push and
// Flush so that encode can hand it what it produced.
type opusInput[E any] struct {
	rx       opusReceiver
	rs       rateConverter // nil at 48 kHz
	rsOut    []int16
	channels int
	name     string // for errors: "opus to aac"

	emit   E                       // the caller's, during Push/Flush
	encode func(pcm []int16) error // the encoder half, at its own rate
	sinkFn func([]int16) error     // sink, bound once: no allocation per Push
	skipFn func(samples48k uint32)
}

// init sets up decoding (and resampling when sampleRate is not 48 kHz).
// encode takes the PCM; skip is told of a gap too long to fill.
func (in *opusInput[E]) init(name string, channels, sampleRate int, encode func([]int16) error, skip func(uint32)) error {
	in.name, in.channels = name, channels
	in.encode, in.sinkFn, in.skipFn = encode, in.sink, skip
	if err := in.rx.init(channels); err != nil {
		return err
	}
	if sampleRate != opusRate {
		rs, err := NewResampler(channels, opusRate, sampleRate)
		if err != nil {
			return err
		}
		in.rs = rs
		in.rsOut = make([]int16, rs.MaxOutput(OpusMaxFrameSamples)*channels)
	}
	return nil
}

// maxOutput is the most samples per channel one Opus packet gives encode.
func (in *opusInput[E]) maxOutput() int {
	if in.rs == nil {
		return OpusMaxFrameSamples
	}
	return in.rs.MaxOutput(OpusMaxFrameSamples)
}

// push decodes one Opus RTP payload into encode, which may call in.emit
// (set to emit for the duration).
func (in *opusInput[E]) push(opus []byte, rtpTimestamp uint32, emit E) error {
	in.emit = emit
	err := in.rx.push(opus, rtpTimestamp, in.sinkFn, in.skipFn)
	var none E
	in.emit = none
	if err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	return nil
}

// sink takes 48 kHz PCM from the receiver.
func (in *opusInput[E]) sink(pcm []int16) error {
	pcm, err := resampled(in.rs, pcm, in.rsOut, in.channels)
	if err != nil {
		return err
	}
	return in.encode(pcm)
}

// close frees the decoder and the resampler. It is safe to call more than
// once.
func (in *opusInput[E]) close() {
	in.rx.close()
	if in.rs != nil {
		in.rs.Close()
	}
	in.rs = nil
}
