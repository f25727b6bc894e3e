package rtmp

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AMF0 type markers.
const (
	amfNumber      = 0x00
	amfBoolean     = 0x01
	amfString      = 0x02
	amfObject      = 0x03
	amfMovieClip   = 0x04 // reserved, refused
	amfNull        = 0x05
	amfUndefined   = 0x06
	amfReference   = 0x07 // refused: needs the decoder to keep every object
	amfECMAArray   = 0x08
	amfObjectEnd   = 0x09
	amfStrictArray = 0x0a
	amfDate        = 0x0b
	amfLongString  = 0x0c
)

// maxAMFDepth bounds object/array nesting. Commands and onMetaData nest two
// or three levels; 32 is generous and keeps a hostile payload from using
// deep recursion.
const maxAMFDepth = 32

// Property is one key/value pair of an AMF0 object; objects keep key order
// because some clients print (and some compare) them in order.
type Property struct {
	Key   string
	Value any
}

// Object is an AMF0 anonymous object.
type Object []Property

// ECMAArray is an AMF0 associative array (what onMetaData usually carries).
type ECMAArray []Property

// Undefined is the AMF0 undefined value.
type Undefined struct{}

// Get returns the value of key, or nil and false.
func (o Object) Get(key string) (any, bool) { return getProp(o, key) }

// Get returns the value of key, or nil and false.
func (a ECMAArray) Get(key string) (any, bool) { return getProp(a, key) }

func getProp(props []Property, key string) (any, bool) {
	for _, p := range props {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// DecodeAMF0 decodes every value in b. Decoded values are float64, bool,
// string, Object, ECMAArray, []any (strict array), nil (null), Undefined and
// time.Time (date). Strings are copied, so the result does not alias b.
func DecodeAMF0(b []byte) ([]any, error) {
	var vals []any
	for len(b) > 0 {
		v, rest, err := decodeAMF0(b, 0)
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
		b = rest
	}
	return vals, nil
}

func decodeAMF0(b []byte, depth int) (any, []byte, error) {
	if depth > maxAMFDepth {
		return nil, nil, fmt.Errorf("%w: nesting deeper than %d", ErrAMF, maxAMFDepth)
	}
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: missing type marker", ErrAMF)
	}
	marker, b := b[0], b[1:]
	switch marker {
	case amfNumber:
		if len(b) < 8 {
			return nil, nil, fmt.Errorf("%w: short number", ErrAMF)
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case amfBoolean:
		if len(b) < 1 {
			return nil, nil, fmt.Errorf("%w: short boolean", ErrAMF)
		}
		return b[0] != 0, b[1:], nil
	case amfString:
		return decodeString(b, 2)
	case amfLongString:
		return decodeString(b, 4)
	case amfNull:
		return nil, b, nil
	case amfUndefined:
		return Undefined{}, b, nil
	case amfObject:
		props, rest, err := decodeProps(b, depth)
		return Object(props), rest, err
	case amfECMAArray:
		// The count is a hint that encoders get wrong; the object-end
		// marker is what terminates the array.
		if len(b) < 4 {
			return nil, nil, fmt.Errorf("%w: short ECMA array", ErrAMF)
		}
		props, rest, err := decodeProps(b[4:], depth)
		return ECMAArray(props), rest, err
	case amfStrictArray:
		if len(b) < 4 {
			return nil, nil, fmt.Errorf("%w: short strict array", ErrAMF)
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		// Each element takes at least one byte: refuse counts the payload
		// cannot hold instead of trusting them for an allocation.
		if uint64(n) > uint64(len(b)) {
			return nil, nil, fmt.Errorf("%w: strict array of %d in %d bytes", ErrAMF, n, len(b))
		}
		arr := make([]any, 0, n)
		for i := uint32(0); i < n; i++ {
			v, rest, err := decodeAMF0(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			arr = append(arr, v)
			b = rest
		}
		return arr, b, nil
	case amfDate:
		if len(b) < 10 {
			return nil, nil, fmt.Errorf("%w: short date", ErrAMF)
		}
		ms := math.Float64frombits(binary.BigEndian.Uint64(b))
		if math.IsNaN(ms) || math.IsInf(ms, 0) || math.Abs(ms) > 1e15 {
			return nil, nil, fmt.Errorf("%w: date %v", ErrAMF, ms)
		}
		// The time zone field (2 bytes) is reserved and ignored; dates are UTC.
		return time.UnixMilli(int64(ms)).UTC(), b[10:], nil
	default:
		return nil, nil, fmt.Errorf("%w: unsupported type marker %#x", ErrAMF, marker)
	}
}

func decodeString(b []byte, lenSize int) (string, []byte, error) {
	if len(b) < lenSize {
		return "", nil, fmt.Errorf("%w: short string length", ErrAMF)
	}
	var n uint64
	if lenSize == 2 {
		n = uint64(binary.BigEndian.Uint16(b))
	} else {
		n = uint64(binary.BigEndian.Uint32(b))
	}
	b = b[lenSize:]
	if n > uint64(len(b)) {
		return "", nil, fmt.Errorf("%w: string of %d bytes, %d left", ErrAMF, n, len(b))
	}
	return string(b[:n]), b[n:], nil
}

// decodeProps reads key/value pairs up to the object-end marker (an empty
// key followed by 0x09).
func decodeProps(b []byte, depth int) ([]Property, []byte, error) {
	var props []Property
	for {
		key, rest, err := decodeString(b, 2)
		if err != nil {
			return nil, nil, err
		}
		if key == "" && len(rest) > 0 && rest[0] == amfObjectEnd {
			return props, rest[1:], nil
		}
		v, rest, err := decodeAMF0(rest, depth+1)
		if err != nil {
			return nil, nil, err
		}
		props = append(props, Property{Key: key, Value: v})
		b = rest
	}
}
