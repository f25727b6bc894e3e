package rtmp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAMF0RoundTrip(t *testing.T) {
	vals := []any{
		"connect", 1.0, true, false, nil, Undefined{},
		Object{{"app", "live"}, {"tcUrl", "rtmp://127.0.0.1/live"}, {"nested", Object{{"x", -2.5}}}},
		ECMAArray{{"width", 320.0}, {"height", 240.0}, {"encoder", "Lavf59"}},
		[]any{1.0, "two", Object{{"k", nil}}},
		strings.Repeat("L", 70000), // long string
		time.UnixMilli(1700000000123).UTC(),
	}
	b, err := AppendAMF0(nil, vals...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeAMF0(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vals) {
		t.Fatalf("round trip differs:\n got %.300v\nwant %.300v", got, vals)
	}
	if b[len(b)-11] != amfDate {
		t.Fatalf("time.Time not encoded as a date")
	}
}

// The _result ffmpeg expects for connect, byte for byte from a capture of
// nginx-rtmp, decodes to what we would have sent.
func TestAMF0DecodesRealConnect(t *testing.T) {
	b := []byte{
		0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't',
		0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
		0x03, 0x00, 0x03, 'a', 'p', 'p', 0x02, 0x00, 0x04, 'l', 'i', 'v', 'e',
		0x00, 0x04, 't', 'y', 'p', 'e', 0x02, 0x00, 0x0a, 'n', 'o', 'n', 'p', 'r', 'i', 'v', 'a', 't', 'e',
		0x00, 0x00, 0x09,
	}
	got, err := DecodeAMF0(b)
	if err != nil {
		t.Fatal(err)
	}
	obj := got[2].(Object)
	if app, _ := obj.Get("app"); got[0] != "connect" || got[1] != 1.0 || app != "live" {
		t.Fatalf("decoded %#v", got)
	}
}

func TestAMF0Refuses(t *testing.T) {
	deep := bytes.Repeat([]byte{amfStrictArray, 0, 0, 0, 1}, maxAMFDepth+2)
	deep = append(deep, amfNull)
	for name, in := range map[string][]byte{
		"short number":              {amfNumber, 0, 0},
		"string longer than data":   {amfString, 0, 10, 'a'},
		"long string beyond data":   {amfLongString, 0xff, 0xff, 0xff, 0xff, 'a'},
		"object without end":        {amfObject, 0, 1, 'a', amfNull},
		"strict array count lies":   {amfStrictArray, 0x7f, 0xff, 0xff, 0xff, amfNull},
		"reference is unsupported":  {amfReference, 0, 1},
		"movie clip is unsupported": {amfMovieClip},
		"AMF3 marker":               {0x11, 0x02},
		"NaN date":                  {amfDate, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0},
		"deep nesting":              deep,
	} {
		if _, err := DecodeAMF0(in); !errors.Is(err, ErrAMF) {
			t.Errorf("%s: err = %v, want ErrAMF", name, err)
		}
	}
	if _, err := AppendAMF0(nil, struct{}{}); !errors.Is(err, ErrAMF) {
		t.Errorf("encoding a struct: err = %v", err)
	}
}

func FuzzDecodeAMF0(f *testing.F) {
	seed, _ := AppendAMF0(nil, "onMetaData", ECMAArray{{"duration", 0.0}, {"videocodecid", 7.0}},
		Object{{"a", []any{nil, Undefined{}, true}}}, time.UnixMilli(0))
	f.Add(seed)
	f.Add([]byte{amfECMAArray, 0, 0, 0, 5, 0, 0, amfObjectEnd})
	f.Add([]byte{amfStrictArray, 0, 0, 0, 2, amfNull, amfLongString, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := DecodeAMF0(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same values.
		out, err := AppendAMF0(nil, vals...)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeAMF0(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalizeNaN(vals), normalizeNaN(again)) {
			t.Fatalf("round trip differs")
		}
	})
}

// normalizeNaN replaces NaN numbers, which never compare equal, by a marker.
func normalizeNaN(vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case float64:
			if v != v {
				out[i] = "NaN"
				continue
			}
		case []any:
			out[i] = normalizeNaN(v)
			continue
		case Object:
			out[i] = normalizeProps(v)
			continue
		case ECMAArray:
			out[i] = normalizeProps(v)
			continue
		}
		out[i] = v
	}
	return out
}

func normalizeProps(props []Property) []any {
	out := make([]any, 0, 2*len(props))
	for _, p := range props {
		out = append(out, p.Key)
		out = append(out, normalizeNaN([]any{p.Value})...)
	}
	return out
}
