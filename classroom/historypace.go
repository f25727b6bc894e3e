package classroom

import (
	"encoding/json"
	"time"

	"github.com/trtcd/trtcd/trtc"
)

// historyAhead is how many seconds of its pace a reader may have been sent
// at once: a late joiner's first pages come without waiting.
const historyAhead = 4

// HistoryPace is what one reader has been sent of history and not yet
// earned back at Limits.HistoryBytesPerSecond. The zero value is a reader
// that has been sent nothing. It serves one goroutine: a connection's
// requests are handled one at a time.
type HistoryPace struct {
	owed float64 // bytes
	at   time.Time
}

// check refuses a reader still more than historyAhead seconds ahead of its
// pace, with how long to wait; a nil pace is never refused.
func (p *HistoryPace) check(now time.Time, perSecond int) *trtc.Error {
	if p == nil {
		return nil
	}
	if !p.at.IsZero() {
		p.owed = max(p.owed-now.Sub(p.at).Seconds()*float64(perSecond), 0)
	}
	p.at = now
	over := p.owed - historyAhead*float64(perSecond)
	if over <= 0 {
		return nil
	}
	wait := time.Duration(over / float64(perSecond) * float64(time.Second)).Round(time.Millisecond)
	return trtc.Errorf(trtc.CodeIMRateLimited, "history: more than %d bytes a second; ask again in %v", perSecond, wait)
}

// charge counts a reply's messages as sent.
func (p *HistoryPace) charge(msgs []json.RawMessage) {
	if p == nil {
		return
	}
	for _, m := range msgs {
		p.owed += float64(len(m))
	}
}
