//go:build cgo

package codec

// Explicit -l flags instead of `#cgo pkg-config`: with pkg-config a fully
// static link fails because -lm lands before libspeexdsp.a.

// #cgo CFLAGS: -I/usr/include/opus
// #cgo LDFLAGS: -lopus -lfaad -lvo-aacenc -lmp3lame -lspeexdsp -lm
import "C"
