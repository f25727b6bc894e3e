package classroom

import (
	"container/list"
	"sync"
	"time"
)

// retryCache remembers this node's recent sends by sender and clientMsgId,
// so a retried send (on a new connection too) gets the first send's answer
// instead of a second delivery. Every sender adds to it, so it is bounded
// twice: at most max entries (the oldest go first) and each for at most
// window; a retry is a matter of seconds, so either bound only forgets
// sends nobody retries.
type retryCache struct {
	max    int
	window time.Duration
	now    func() time.Time // time.Now; tests move it

	mu     sync.Mutex
	byKey  map[retryKey]*list.Element
	oldest *list.List // of *retryEntry, oldest first
}

// retryKey names a send: a clientMsgId is the sender's own.
type retryKey struct {
	app      uint32
	user, id string
}

type retryEntry struct {
	key  retryKey
	sent sentMessage
	at   time.Time
}

// sentMessage is what a retry's reply repeats.
type sentMessage struct {
	Seq  uint64
	Time int64
}

func newRetryCache(entries int, window time.Duration) *retryCache {
	return &retryCache{max: entries, window: window, now: time.Now, byKey: map[retryKey]*list.Element{}, oldest: list.New()}
}

// get is the first send of k, if it is remembered.
func (r *retryCache) get(k retryKey) (sentMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire()
	el := r.byKey[k]
	if el == nil {
		return sentMessage{}, false
	}
	return el.Value.(*retryEntry).sent, true
}

// add remembers a send, making room by forgetting the oldest.
func (r *retryCache) add(k retryKey, m sentMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire()
	if el := r.byKey[k]; el != nil { // two sends of one id raced; the first answer stays
		return
	}
	for r.oldest.Len() >= r.max {
		r.drop(r.oldest.Front())
	}
	r.byKey[k] = r.oldest.PushBack(&retryEntry{key: k, sent: m, at: r.now()})
}

// expire forgets the entries older than the window: they are at the front.
func (r *retryCache) expire() {
	cutoff := r.now().Add(-r.window)
	for el := r.oldest.Front(); el != nil && !el.Value.(*retryEntry).at.After(cutoff); el = r.oldest.Front() {
		r.drop(el)
	}
}

func (r *retryCache) drop(el *list.Element) {
	delete(r.byKey, el.Value.(*retryEntry).key)
	r.oldest.Remove(el)
}

// size is how many sends are remembered.
func (r *retryCache) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.oldest.Len()
}
