package live

import (
	"errors"
	"log/slog"

	"github.com/trtcd/trtcd/internal/panics"
)

// ErrInternal ends an ingest or a player whose media reached a bug. The
// panic behind it is counted in trtcd_panics_total and its stack logged;
// only this connection ends, not the process and every room on it.
var ErrInternal = errors.New("live: internal error (a bug, logged with its stack); the connection is closed")

// recovered, deferred directly, turns a panic into ErrInternal in *err.
func recovered(component string, log *slog.Logger, err *error) {
	if v := recover(); v != nil {
		panics.Report(component, v, log)
		*err = ErrInternal
	}
}
