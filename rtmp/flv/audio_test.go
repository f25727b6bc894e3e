package flv

import (
	"bytes"
	"errors"
	"testing"
)

func TestAudioTagRoundTrip(t *testing.T) {
	b := AppendAudioTag(nil, AACRaw, []byte{0x21, 0x10})
	if b[0] != 0xaf {
		t.Fatalf("AAC header byte %#x, want 0xaf", b[0])
	}
	a, err := ParseAudioTag(b)
	if err != nil || a.SoundFormat != SoundFormatAAC || a.AACPacketType != AACRaw || !bytes.Equal(a.Data, []byte{0x21, 0x10}) ||
		a.SoundRate != 3 || a.SoundSize != 1 || a.SoundType != 1 {
		t.Fatalf("parsed %+v, %v", a, err)
	}
}

func TestParseAudioTagRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"empty":          {nil, ErrShortBody},
		"MP3":            {[]byte{0x2f, 0xff}, ErrUnsupportedCodec},
		"AAC no type":    {[]byte{0xaf}, ErrShortBody},
		"AAC bad type 2": {[]byte{0xaf, 2}, ErrBadTag},
	} {
		if _, err := ParseAudioTag(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestAudioSpecificConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		want  AudioSpecificConfig
		error bool
	}{
		{"AAC-LC 44.1 kHz stereo (ffmpeg)", []byte{0x12, 0x10}, AudioSpecificConfig{AACLC, 4, 44100, 2}, false},
		{"AAC-LC 48 kHz mono", []byte{0x11, 0x88}, AudioSpecificConfig{AACLC, 3, 48000, 1}, false},
		{"HE-AAC signalled as LC with SBR ext bytes", []byte{0x13, 0x10, 0x56, 0xe5, 0x98}, AudioSpecificConfig{AACLC, 6, 24000, 2}, false},
		{"explicit 24-bit rate 37800", []byte{0x17, 0x80, 0x49, 0xd4, 0x10}, AudioSpecificConfig{AACLC, 15, 37800, 2}, false},
		{"escaped object type 42", []byte{0xf9, 0x44, 0x20}, AudioSpecificConfig{42, 2, 64000, 1}, false},
		{"reserved rate index 13", []byte{0x16, 0x90}, AudioSpecificConfig{}, true},
		{"one byte", []byte{0x12}, AudioSpecificConfig{}, true},
		{"explicit rate cut", []byte{0x17, 0x80, 0x49}, AudioSpecificConfig{}, true},
	} {
		got, err := ParseAudioSpecificConfig(tc.in)
		if tc.error {
			if !errors.Is(err, ErrBadAudioConfig) {
				t.Errorf("%s: err = %v, want ErrBadAudioConfig", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestBuildAACLCConfig(t *testing.T) {
	b, err := BuildAACLCConfig(44100, 2)
	if err != nil || !bytes.Equal(b, []byte{0x12, 0x10}) {
		t.Fatalf("44.1 kHz stereo = % x, %v; want 12 10 (what ffmpeg writes)", b, err)
	}
	b, err = BuildAACLCConfig(37800, 2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseAudioSpecificConfig(b)
	if err != nil || c.SampleRate != 37800 || c.SampleRateIndex != 15 || c.ChannelConfig != 2 {
		t.Fatalf("explicit rate round trip = %+v, %v", c, err)
	}
	if _, err := BuildAACLCConfig(0, 2); !errors.Is(err, ErrBadAudioConfig) {
		t.Fatalf("rate 0: err = %v", err)
	}
}

func FuzzParseAudioTag(f *testing.F) {
	f.Add(AppendAudioTag(nil, AACSequenceHeader, []byte{0x12, 0x10}))
	f.Add(AppendAudioTag(nil, AACRaw, []byte{0x21, 0x00, 0x49}))
	f.Add([]byte{0xaf, 0, 0x17, 0x80, 0x49, 0xd4, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAudioTag(b)
		if err != nil {
			return
		}
		if a.AACPacketType == AACSequenceHeader {
			if c, err := ParseAudioSpecificConfig(a.Data); err == nil && c.ObjectType == AACLC && c.ChannelConfig > 0 && c.ChannelConfig < 8 {
				if _, err := BuildAACLCConfig(c.SampleRate, c.ChannelConfig); err != nil {
					t.Fatalf("cannot rebuild %+v: %v", c, err)
				}
			}
		}
	})
}
