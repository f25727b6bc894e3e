package rtmp

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AppendAMF0 appends the AMF0 encoding of vals to dst. Supported Go values:
// nil (null), Undefined, bool, string (long string past 65535 bytes), every
// integer and float type (number), Object, ECMAArray, map[string]any (object,
// keys in map order), []any (strict array) and time.Time (date).
func AppendAMF0(dst []byte, vals ...any) ([]byte, error) {
	for _, v := range vals {
		var err error
		if dst, err = appendAMF0(dst, v, 0); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendAMF0(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxAMFDepth {
		return dst, fmt.Errorf("%w: nesting deeper than %d", ErrAMF, maxAMFDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(dst, amfNull), nil
	case Undefined:
		return append(dst, amfUndefined), nil
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(dst, amfBoolean, b), nil
	case string:
		if len(v) > math.MaxUint16 {
			dst = append(dst, amfLongString)
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
			return append(dst, v...), nil
		}
		dst = append(dst, amfString)
		return appendKey(dst, v), nil
	case float64:
		return appendNumber(dst, v), nil
	case float32:
		return appendNumber(dst, float64(v)), nil
	case int:
		return appendNumber(dst, float64(v)), nil
	case int32:
		return appendNumber(dst, float64(v)), nil
	case int64:
		return appendNumber(dst, float64(v)), nil
	case uint32:
		return appendNumber(dst, float64(v)), nil
	case uint8:
		return appendNumber(dst, float64(v)), nil
	case Object:
		return appendProps(append(dst, amfObject), v, depth)
	case ECMAArray:
		dst = append(dst, amfECMAArray)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		return appendProps(dst, v, depth)
	case map[string]any:
		dst = append(dst, amfObject)
		for k, val := range v {
			var err error
			if dst, err = appendAMF0(appendKey(dst, k), val, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, 0, 0, amfObjectEnd), nil
	case []any:
		dst = append(dst, amfStrictArray)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		for _, e := range v {
			var err error
			if dst, err = appendAMF0(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case time.Time:
		dst = appendNumber(dst, float64(v.UnixMilli()))
		dst[len(dst)-9] = amfDate
		return append(dst, 0, 0), nil
	default:
		return dst, fmt.Errorf("%w: cannot encode %T", ErrAMF, v)
	}
}

func appendNumber(dst []byte, f float64) []byte {
	dst = append(dst, amfNumber)
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// appendKey writes a string without a type marker (keys, short strings); longer keys are cut,
// since AMF0 keys have a 16-bit length.
func appendKey(dst []byte, k string) []byte {
	if len(k) > math.MaxUint16 {
		k = k[:math.MaxUint16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(k)))
	return append(dst, k...)
}

func appendProps(dst []byte, props []Property, depth int) ([]byte, error) {
	for _, p := range props {
		var err error
		if dst, err = appendAMF0(appendKey(dst, p.Key), p.Value, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, 0, 0, amfObjectEnd), nil
}
