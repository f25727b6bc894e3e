//go:build !cgo

package codec

import (
	"errors"
	"testing"
)

func TestWithoutCgoEverythingIsUnavailable(t *testing.T) {
	errs := []error{}
	_, err := NewOpusEncoder(48000, 2, 64000)
	errs = append(errs, err)
	_, err = NewOpusDecoder(48000, 2)
	errs = append(errs, err)
	_, err = NewAACDecoder([]byte{0x12, 0x10})
	errs = append(errs, err)
	_, err = NewAACEncoder(48000, 2, 96000)
	errs = append(errs, err)
	_, err = NewMP3Encoder(48000, 2, 128000)
	errs = append(errs, err)
	_, err = NewResampler(2, 44100, 48000)
	errs = append(errs, err)
	_, err = NewAACToOpus([]byte{0x12, 0x10}, 64000)
	errs = append(errs, err)
	_, err = NewOpusToAAC(2, 48000, 96000)
	errs = append(errs, err)
	_, err = NewOpusToMP3(2, 48000, 128000)
	errs = append(errs, err)
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("constructor %d: %v, want ErrUnavailable", i, err)
		}
	}
}
