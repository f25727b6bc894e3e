package wayin

import (
	"errors"
	"fmt"
	"sync"

	"github.com/trtcd/trtcd/sfu"
)

// MediaSessions are a member's media sessions: its publish, its screen
// share (a publish of the sub-stream beside the camera's) and its
// subscriptions by publisher, for a connection that negotiates them while
// the member may leave (the /ws protocol, the Web SDK's signalling). A
// session installed while the set is not open, or a subscription past the
// cap, is refused, and the caller closes it.
type MediaSessions struct {
	mu      sync.Mutex
	open    bool
	maxSubs int
	pub     *sfu.Session
	screen  *sfu.Session
	subs    map[string]*sfu.Session
}

// Errors of SwapSubscription.
var (
	ErrNotOpen              = errors.New("left the room during the negotiation")
	ErrTooManySubscriptions = errors.New("too many subscriptions")
)

// Open accepts sessions: the member has entered a room of capacity
// members. A subscription names its publisher as the client likes, and a
// publisher who has not published yet is waited for, so the number of
// publishers subscribed at once is capped at the room's other members:
// each subscription is a PeerConnection.
func (m *MediaSessions) Open(capacity int) {
	m.mu.Lock()
	m.open, m.maxSubs = true, max(capacity-1, 1)
	m.mu.Unlock()
}

// RoomFor reports whether a subscription to publisher may be added now
// (asked before the costly negotiation; SwapSubscription checks again).
func (m *MediaSessions) RoomFor(publisher string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roomFor(publisher)
}

func (m *MediaSessions) roomFor(publisher string) error {
	switch {
	case !m.open:
		return ErrNotOpen
	case m.subs[publisher] == nil && len(m.subs) >= m.maxSubs:
		return fmt.Errorf("%w: %d publishers are subscribed, as many as the room has other members (unsubscribe one first)", ErrTooManySubscriptions, len(m.subs))
	}
	return nil
}

// SwapPublish makes s the publish (nil: none), closing the one it
// replaces. It reports false, installing nothing, when the set is not open.
func (m *MediaSessions) SwapPublish(s *sfu.Session) bool {
	return m.swap(s, func() (old *sfu.Session, _ error) {
		old, m.pub = m.pub, s
		return old, nil
	}) == nil
}

// SwapScreen does the same for the screen share.
func (m *MediaSessions) SwapScreen(s *sfu.Session) bool {
	return m.swap(s, func() (old *sfu.Session, _ error) {
		old, m.screen = m.screen, s
		return old, nil
	}) == nil
}

// SwapSubscription makes s the subscription to publisher (nil: none),
// closing the one it replaces; a new one past the cap, or while the set
// is not open, is refused with the reason (s is not installed).
func (m *MediaSessions) SwapSubscription(publisher string, s *sfu.Session) error {
	return m.swap(s, func() (old *sfu.Session, _ error) {
		old = m.subs[publisher]
		if s == nil {
			delete(m.subs, publisher)
			return old, nil
		}
		if err := m.roomFor(publisher); err != nil {
			return nil, err
		}
		if m.subs == nil {
			m.subs = map[string]*sfu.Session{}
		}
		m.subs[publisher] = s
		return old, nil
	})
}

// Publish is the publish, or nil.
func (m *MediaSessions) Publish() *sfu.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pub
}

// Subscription is the subscription to publisher, or nil.
func (m *MediaSessions) Subscription(publisher string) *sfu.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs[publisher]
}

// swap runs install under the lock, unless s is a session and the set is
// not open, and closes the session install replaced.
func (m *MediaSessions) swap(s *sfu.Session, install func() (old *sfu.Session, err error)) error {
	m.mu.Lock()
	if s != nil && !m.open {
		m.mu.Unlock()
		return ErrNotOpen
	}
	old, err := install()
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if old != nil && old != s {
		old.Close()
	}
	return nil
}

// Take ends the set at once (later sessions are refused until Open) and
// returns a function that closes what it held: closing is slow, and the
// caller may do it after releasing its own locks.
func (m *MediaSessions) Take() (closeAll func()) {
	m.mu.Lock()
	pub, screen, subs := m.pub, m.screen, m.subs
	m.open, m.pub, m.screen, m.subs = false, nil, nil, nil
	m.mu.Unlock()
	return func() {
		for _, s := range []*sfu.Session{pub, screen} {
			if s != nil {
				s.Close()
			}
		}
		for _, s := range subs {
			s.Close()
		}
	}
}
