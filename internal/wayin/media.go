package wayin

import (
	"errors"
	"net/http"
	"sync"

	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// MediaError maps the media plane's refusals to TRTC codes, for every way
// in (WHIP, /ws, RTMP, the Web SDK).
func MediaError(err error) *trtc.Error {
	switch {
	case errors.Is(err, sfu.ErrSendVideoDenied):
		return trtc.Errorf(trtc.CodeNoSendVideoPrivilege, "the privateMapKey does not allow sending video")
	case errors.Is(err, sfu.ErrRecvVideoDenied):
		return trtc.Errorf(trtc.CodeNoRecvVideoPrivilege, "the privateMapKey does not allow receiving video")
	case errors.Is(err, sfu.ErrSendSubDenied):
		return trtc.Errorf(trtc.CodeNoSendVideoPrivilege, "the privateMapKey does not allow sending the sub-stream (bit 64)")
	case errors.Is(err, sfu.ErrRecvSubDenied):
		return trtc.Errorf(trtc.CodeNoRecvVideoPrivilege, "the privateMapKey does not allow receiving the sub-stream (bit 128)")
	case errors.Is(err, sfu.ErrSendAudioDenied):
		return trtc.Errorf(trtc.CodePrivilegeCheckFailed, "the privateMapKey does not allow sending audio (bit 4)")
	case errors.Is(err, sfu.ErrRecvAudioDenied):
		return trtc.Errorf(trtc.CodePrivilegeCheckFailed, "the privateMapKey does not allow receiving audio (bit 8)")
	case errors.Is(err, sfu.ErrNotPublishing):
		return trtc.Errorf(trtc.CodeParamCheckFailed, "%s", err).WithHTTPStatus(http.StatusNotFound)
	case errors.Is(err, sfu.ErrBadOffer), errors.Is(err, sfu.ErrNoMedia), errors.Is(err, sfu.ErrNoCommonCodec), errors.Is(err, sfu.ErrCodecMismatch):
		return trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	return trtc.Errorf(trtc.CodeParamCheckFailed, "the media server could not answer: %s", err).WithHTTPStatus(http.StatusInternalServerError)
}

// SessionPeer is a member whose only tie to trtcd is its media session (a
// WHIP publisher, an RTMP pusher): it has no channel for events, and being
// replaced or kicked ends its session.
type SessionPeer struct {
	mu     sync.Mutex
	sess   *sfu.Session
	kicked bool
}

// Set ties the peer to its session, once the media plane has made it.
func (p *SessionPeer) Set(s *sfu.Session) {
	p.mu.Lock()
	p.sess = s
	kicked := p.kicked
	p.mu.Unlock()
	if kicked {
		s.Close()
	}
}

func (p *SessionPeer) Notify(trtc.Event) {}

func (p *SessionPeer) Kick(*trtc.Error) {
	p.mu.Lock()
	s := p.sess
	p.kicked = true
	p.mu.Unlock()
	if s != nil {
		go s.Close()
	}
}
