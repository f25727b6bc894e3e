package classroom

import bolt "go.etcd.io/bbolt"

// What the tests outside the package (which drive classrooms over /ws)
// look at inside it.

// RetryCacheSize is how many sends the retry cache remembers.
func (cs *Classrooms) RetryCacheSize() int { return cs.sent.size() }

// RemembersSend says whether the retry cache remembers user's send with
// clientMsgID.
func (cs *Classrooms) RemembersSend(app uint32, user, clientMsgID string) bool {
	_, ok := cs.sent.get(retryKey{app, user, clientMsgID})
	return ok
}

// StoredMessage is message seq of the class with key as db stores it.
func StoredMessage(db *bolt.DB, key string, seq uint64) []byte {
	var stored []byte
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(msgBucket(key)); b != nil {
			stored = append(stored, b.Get(seqKey(seq))...)
		}
		return nil
	})
	return stored
}

// MarshalUnescaped is a message's JSON as it is stored and sent.
var MarshalUnescaped = marshalUnescaped
