package classroom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// BoardExt marks group custom messages that carry whiteboard data.
const BoardExt = "TXWhiteBoardExt"

// Message is a C2C or group message as members receive it.
type Message struct {
	Seq         uint64 `json:"seq"` // the class's sequence number; 0 for C2C
	Time        int64  `json:"time"`
	From        string `json:"from"`
	To          string `json:"to,omitempty"`
	ClassID     uint32 `json:"classId,omitempty"`
	StrClassID  string `json:"strClassId,omitempty"`
	Type        string `json:"type"` // text or custom
	Text        string `json:"text,omitempty"`
	Data        string `json:"data,omitempty"`
	Ext         string `json:"ext,omitempty"`
	ClientMsgID string `json:"clientMsgId"`
}

// SendRequest is a message to send.
type SendRequest struct {
	To          string `json:"to"`
	Type        string `json:"type"`
	Text        string `json:"text"`
	Data        string `json:"data"`
	Ext         string `json:"ext"`
	ClientMsgID string `json:"clientMsgId"`
}

// Send delivers a message from a signed-in user: C2C when To is set, else
// to the class of the room m is in (m may be nil for C2C).
func (cs *Classrooms) Send(app uint32, from string, m *trtc.Member, req SendRequest) (Message, *trtc.Error) {
	if e := cs.check(req); e != nil {
		return Message{}, e
	}
	cs.mu.Lock()
	sender := cs.peers[userKey{app, from}]
	cs.mu.Unlock()
	if sender == nil {
		return Message{}, trtc.Errorf(trtc.CodeParamCheckFailed, "sign in (login) before sending messages")
	}
	sendID := retryKey{app, from, req.ClientMsgID}
	if prev, ok := cs.sent.get(sendID); ok {
		// A retry: delivered already.
		return Message{Seq: prev.Seq, Time: prev.Time, ClientMsgID: req.ClientMsgID}, nil
	}
	if !sender.limiter.Allow() {
		return Message{}, trtc.Errorf(trtc.CodeIMRateLimited, "more than %.0f messages per second", cs.Limits.MessagesPerSecond)
	}
	msg := Message{Time: time.Now().UnixMilli(), From: from, To: req.To, Type: req.Type, Text: req.Text, Data: req.Data,
		Ext: req.Ext, ClientMsgID: req.ClientMsgID}
	var e *trtc.Error
	if req.To != "" {
		e = cs.sendC2C(app, sender, msg)
	} else {
		msg, e = cs.sendGroup(app, m, msg)
	}
	if e == nil {
		cs.sent.add(sendID, sentMessage{Seq: msg.Seq, Time: msg.Time})
	}
	return msg, e
}

func (cs *Classrooms) check(req SendRequest) *trtc.Error {
	switch {
	case req.Type != "text" && req.Type != "custom":
		return trtc.Errorf(trtc.CodeParamCheckFailed, "message type %q: want text or custom", req.Type)
	case req.ClientMsgID == "" || len(req.ClientMsgID) > 64:
		return trtc.Errorf(trtc.CodeParamCheckFailed, "clientMsgId must be 1 to 64 characters")
	case len(req.Text)+len(req.Data)+len(req.Ext) > cs.Limits.MaxMessageBytes:
		return trtc.Errorf(trtc.CodeIMMessageTooLong, "the message is %d bytes; the limit is %d", len(req.Text)+len(req.Data)+len(req.Ext), cs.Limits.MaxMessageBytes)
	}
	// What is stored and sent to every member is JSON, where a control
	// character takes 6 bytes: 12 KB of them would be 72 KB to each
	// member. Quotes and backslashes (whiteboard data is JSON) take 2, so
	// twice the limit passes any message but such.
	if n := jsonSize(req.Text, req.Data, req.Ext); n > 2*cs.Limits.MaxMessageBytes {
		return trtc.Errorf(trtc.CodeIMMessageTooLong, "the message is %d bytes as JSON (control characters take 6); the limit is %d", n, 2*cs.Limits.MaxMessageBytes)
	}
	return nil
}

// jsonSize is the bytes the strings take as JSON strings, quotes left out.
func jsonSize(strs ...string) (n int) {
	for _, s := range strs {
		n += len(marshalUnescaped(s)) - 2
	}
	return n
}

func (cs *Classrooms) sendC2C(app uint32, sender *signedIn, msg Message) *trtc.Error {
	cs.mu.Lock()
	to, shared := cs.peers[userKey{app, msg.To}], cs.shared
	cs.mu.Unlock()
	if to == nil && shared != nil {
		return cs.sendC2CShared(shared, app, msg)
	}
	if to == nil {
		return trtc.Errorf(trtc.CodeIMUnknownReceiver, "user %q is not signed in", msg.To)
	}
	to.peer.Notify(trtc.Event{Name: EventMessage, Data: msg})
	return nil
}

// EventMessage carries a C2C or group message.
const EventMessage = "message"

// sendGroup numbers, stores and delivers a group message. Numbering
// happens under the class's lock, and delivery follows the store in
// number order (deliverAfter), so every member's queue holds stored
// messages in sequence order; the reply waits until the message is stored.
func (cs *Classrooms) sendGroup(app uint32, m *trtc.Member, msg Message) (Message, *trtc.Error) {
	if m == nil {
		return msg, trtc.Errorf(trtc.CodeIMNoPermission, "join a classroom before sending group messages")
	}
	msg.ClassID, msg.StrClassID = m.Room.ID.ID, m.Room.ID.Str
	if shared, _ := cs.sharing(); shared != nil {
		// The script finds the class itself; recorded where it is delivered (DeliverGroup).
		return cs.appendShared(shared, classKey(app, m.Room.ID), msg)
	}
	c, e := cs.find(app, m.Room.ID)
	if e != nil {
		return msg, e
	}
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return msg, trtc.Errorf(trtc.CodeIMGroupNotFound, "classroom %s was destroyed", m.Room.ID)
	}
	c.seq++
	msg.Seq = c.seq
	data := marshalUnescaped(msg)
	stored := cs.Store.append(c.stored.Key, msg.Seq, data, cs.Limits.HistoryCap, cs.Limits.HistoryBytes)
	answer := c.deliverAfter(stored, func() {
		cs.Rooms.Broadcast(c.stored.Key, trtc.Event{Name: EventMessage, Data: json.RawMessage(data)})
	})
	c.mu.Unlock()
	cs.recordMessage(c, m, msg)
	if err := <-answer; err != nil {
		return msg, trtc.Errorf(trtc.CodeParamCheckFailed, "storing the message: %v", err)
	}
	return msg, nil
}

// recordMessage hands a group message to a recording of the sender's room.
func (cs *Classrooms) recordMessage(c *class, m *trtc.Member, msg Message) {
	if f := cs.OnGroupMessage; f != nil && m.Room.RecordID != "" {
		f(c.stored.Key, m.Room.RecordID, msg)
	}
}

// History returns a class's stored messages after seq: at most limit (and
// 1000) of them, and those that fit a reply of HistoryReplyBytes, with
// more true when others follow. A reader's replies are paced by p (nil:
// not paced, for the application server's REST calls).
func (cs *Classrooms) History(p *HistoryPace, app uint32, id tlssig.Room, after uint64, limit int) (map[string]any, *trtc.Error) {
	c, e := cs.find(app, id)
	if e != nil {
		return nil, e
	}
	if e := p.check(time.Now(), cs.Limits.HistoryBytesPerSecond); e != nil {
		return nil, e
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	msgs, more, err := cs.history(c.stored.Key, after, limit, historyBudget(cs.Limits.HistoryReplyBytes))
	p.charge(msgs)
	if err != nil {
		if shared, _ := cs.sharing(); shared != nil {
			return nil, unavailable("reading history", err)
		}
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "reading history: %v", err)
	}
	c.mu.Lock()
	last := c.seq
	c.mu.Unlock()
	if msgs == nil {
		msgs = []json.RawMessage{}
	}
	return map[string]any{"messages": msgs, "lastSeq": last, "more": more}, nil
}

func (cs *Classrooms) history(key string, after uint64, limit, maxBytes int) ([]json.RawMessage, bool, error) {
	if shared, _ := cs.sharing(); shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		return shared.History(ctx, key, after, limit, maxBytes)
	}
	return cs.Store.history(key, after, limit, maxBytes)
}

// historyFrameRoom is what a history reply's frame takes around its
// messages (type, id, code, lastSeq, more): HistoryReplyBytes bounds the
// whole frame.
const historyFrameRoom = 1 << 10

// historyBudget is the bytes a reply's messages may take, each counted
// with the comma after it.
func historyBudget(replyBytes int) int { return max(replyBytes-historyFrameRoom, 1) }

// pageFits says whether a message of n bytes joins a history page that
// holds count messages of size bytes. A page always takes one message, so
// a client paging with afterSeq moves on whatever the limits.
func pageFits(count, size, n, limit, maxBytes int) bool {
	return count == 0 || (count < limit && size+n+1 <= maxBytes)
}

// marshalUnescaped is JSON without HTML escaping: a message of 12 KB of
// "<" stays 12 KB stored and sent, where escaping would make it 72 KB.
func marshalUnescaped(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil // only values that cannot be JSON: not a Message
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// SendAsServer sends a group text to a class from the application server,
// under the app's admin identifier, as if it were a member (the REST API's
// system messages). The admin is signed in here only, for the send: it is
// not where the admin's C2C messages go in a cluster.
func (cs *Classrooms) SendAsServer(app uint32, admin string, id tlssig.Room, text string) (Message, *trtc.Error) {
	cs.signIn(app, admin, serverPeer{})
	m := &trtc.Member{App: app, UserID: admin, Room: &trtc.Room{Key: trtc.RoomKey(app, id), ID: id}}
	return cs.Send(app, admin, m, SendRequest{Type: "text", Text: text, ClientMsgID: fmt.Sprintf("system-%d", time.Now().UnixNano())})
}

// serverPeer is the application server signed in to send: it has no
// connection, so nothing is delivered to it.
type serverPeer struct{}

func (serverPeer) Notify(trtc.Event) {}
func (serverPeer) Kick(*trtc.Error)  {}
