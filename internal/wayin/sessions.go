package wayin

import (
	"sync"

	"github.com/trtcd/trtcd/sfu"
)

// MediaSessions are a member's media sessions: its publish, its screen
// share (a publish of the sub-stream beside the camera's) and its
// subscriptions by publisher, for a connection that negotiates them while
// the member may leave (the /ws protocol, the Web SDK's signalling). A
// session installed while the set is not open is refused, and the caller
// closes it.
type MediaSessions struct {
	mu     sync.Mutex
	open   bool
	pub    *sfu.Session
	screen *sfu.Session
	subs   map[string]*sfu.Session
}

// Open accepts sessions: the member has entered.
func (m *MediaSessions) Open() {
	m.mu.Lock()
	m.open = true
	m.mu.Unlock()
}

// SwapPublish makes s the publish (nil: none), closing the one it
// replaces. It reports false, installing nothing, when the set is not open.
func (m *MediaSessions) SwapPublish(s *sfu.Session) bool {
	return m.swap(s, func() (old *sfu.Session) {
		old, m.pub = m.pub, s
		return old
	})
}

// SwapScreen does the same for the screen share.
func (m *MediaSessions) SwapScreen(s *sfu.Session) bool {
	return m.swap(s, func() (old *sfu.Session) {
		old, m.screen = m.screen, s
		return old
	})
}

// SwapSubscription does the same for the subscription to publisher.
func (m *MediaSessions) SwapSubscription(publisher string, s *sfu.Session) bool {
	return m.swap(s, func() (old *sfu.Session) {
		old = m.subs[publisher]
		if s == nil {
			delete(m.subs, publisher)
			return old
		}
		if m.subs == nil {
			m.subs = map[string]*sfu.Session{}
		}
		m.subs[publisher] = s
		return old
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

func (m *MediaSessions) swap(s *sfu.Session, install func() *sfu.Session) bool {
	m.mu.Lock()
	if s != nil && !m.open {
		m.mu.Unlock()
		return false
	}
	old := install()
	m.mu.Unlock()
	if old != nil && old != s {
		old.Close()
	}
	return true
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
