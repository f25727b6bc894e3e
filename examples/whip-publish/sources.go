package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// frameSource gives the next frame (a whole access unit for video) and
// how long it lasts; key asks a video source for a keyframe.
type frameSource interface {
	next(key bool) (frame []byte, d time.Duration, isKey bool, err error)
}

// send writes a source's frames at their pace until ctx ends.
func send(ctx context.Context, t *webrtc.TrackLocalStaticSample, src frameSource, wantKey *atomic.Bool, count, keys *atomic.Int64) {
	next := time.Now()
	for {
		key := wantKey != nil && wantKey.Swap(false)
		frame, d, isKey, err := src.next(key)
		if err != nil {
			log.Printf("%s: %v", t.Kind(), err)
			return
		}
		if err := t.WriteSample(media.Sample{Data: frame, Duration: d}); err != nil {
			return
		}
		count.Add(1)
		if isKey && keys != nil {
			keys.Add(1)
		}
		next = next.Add(d)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// patternSource is the generated test pattern, a keyframe every 3 s or
// when asked.
type patternSource struct {
	p   *pattern
	fps int
	n   int
}

func (s *patternSource) next(key bool) ([]byte, time.Duration, bool, error) {
	key = key || s.n%(3*s.fps) == 0
	au := s.p.next(s.n, s.fps, key)
	s.n++
	return au, time.Second / time.Duration(s.fps), key, nil
}

func (s *patternSource) String() string {
	return fmt.Sprintf("a %dx%d H.264 test pattern at %d fps", s.p.w, s.p.h, s.fps)
}

// h264File reads an Annex B file picture by picture (a picture is its
// parameter sets and slices), from the start again at its end. It cannot
// make keyframes: encode the file with a short GOP (e.g. -g 50).
type h264File struct {
	path    string
	fps     int
	f       *os.File
	r       *h264reader.H264Reader
	pending []byte // parameter sets and SEI waiting for their picture
}

func newH264File(path string, fps int) (*h264File, error) {
	s := &h264File{path: path, fps: fps}
	return s, s.open()
}

func (s *h264File) open() error {
	if s.f != nil {
		s.f.Close()
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	r, err := h264reader.NewReader(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.f, s.r = f, r
	return nil
}

func (s *h264File) next(bool) ([]byte, time.Duration, bool, error) {
	for rewound := false; ; {
		nal, err := s.r.NextNAL()
		if errors.Is(err, io.EOF) && !rewound {
			rewound = true
			if err := s.open(); err != nil {
				return nil, 0, false, err
			}
			continue
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("%s: %w", s.path, err)
		}
		s.pending = append(s.pending, 0, 0, 0, 1)
		s.pending = append(s.pending, nal.Data...)
		// A slice ends the picture (one slice per picture, as x264 and
		// most encoders make by default).
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			au := s.pending
			s.pending = nil
			return au, time.Second / time.Duration(s.fps), nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr, nil
		}
	}
}

func (s *h264File) String() string { return s.path }

// silence is Opus silence: a 20 ms CELT frame (TOC 0xfc: fullband,
// stereo, one frame) that every decoder plays as silence.
type silence struct{}

func (silence) next(bool) ([]byte, time.Duration, bool, error) {
	return []byte{0xfc, 0xff, 0xfe}, 20 * time.Millisecond, false, nil
}

// oggFile reads Ogg Opus page by page, from the start again at its end.
// Each page must hold one Opus packet (ffmpeg: -page_duration 20000).
type oggFile struct {
	path    string
	f       *os.File
	r       *oggreader.OggReader
	granule uint64
}

func newOggFile(path string) (*oggFile, error) {
	s := &oggFile{path: path}
	return s, s.open()
}

func (s *oggFile) open() error {
	if s.f != nil {
		s.f.Close()
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.f, s.r, s.granule = f, r, 0
	return nil
}

func (s *oggFile) next(bool) ([]byte, time.Duration, bool, error) {
	for rewound := false; ; {
		page, h, err := s.r.ParseNextPage()
		if errors.Is(err, io.EOF) && !rewound {
			rewound = true
			if err := s.open(); err != nil {
				return nil, 0, false, err
			}
			continue
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("%s: %w", s.path, err)
		}
		if len(page) == 0 || h.GranulePosition <= s.granule {
			continue // header pages (OpusHead, OpusTags)
		}
		samples := h.GranulePosition - s.granule
		s.granule = h.GranulePosition
		return page, time.Duration(samples) * time.Second / 48000, false, nil
	}
}
