package tlssig

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Privilege is the privateMapKey privilege map. Only the low 8 bits are
// defined; the others are kept as received.
type Privilege uint32

// The privilege bits, in the order every official library documents them.
const (
	PrivCreateRoom   Privilege = 1 << iota // create the room
	PrivEnterRoom                          // enter the room
	PrivSendAudio                          // publish audio
	PrivRecvAudio                          // receive audio
	PrivSendVideo                          // publish camera video
	PrivRecvVideo                          // receive camera video
	PrivSendSubVideo                       // publish the sub-stream (screen share)
	PrivRecvSubVideo                       // receive the sub-stream
	PrivAll          Privilege = 0xff
)

var privilegeNames = [...]string{
	"create_room", "enter_room", "send_audio", "recv_audio",
	"send_video", "recv_video", "send_sub_video", "recv_sub_video",
}

// Has reports whether every bit of want is granted.
func (p Privilege) Has(want Privilege) bool { return p&want == want }

func (p Privilege) CanCreateRoom() bool   { return p.Has(PrivCreateRoom) }
func (p Privilege) CanEnterRoom() bool    { return p.Has(PrivEnterRoom) }
func (p Privilege) CanSendAudio() bool    { return p.Has(PrivSendAudio) }
func (p Privilege) CanRecvAudio() bool    { return p.Has(PrivRecvAudio) }
func (p Privilege) CanSendVideo() bool    { return p.Has(PrivSendVideo) }
func (p Privilege) CanRecvVideo() bool    { return p.Has(PrivRecvVideo) }
func (p Privilege) CanSendSubVideo() bool { return p.Has(PrivSendSubVideo) }
func (p Privilege) CanRecvSubVideo() bool { return p.Has(PrivRecvSubVideo) }

// Names lists the granted bits by name, lowest bit first.
func (p Privilege) Names() []string {
	names := []string{}
	for i, name := range privilegeNames {
		if p&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

func (p Privilege) String() string {
	return fmt.Sprintf("%d(%s)", uint32(p), strings.Join(p.Names(), "+"))
}

// Room names the room a client enters. Numeric and string room ids are
// separate namespaces: room 123 and room "123" are different rooms.
type Room struct {
	ID  uint32 // numeric room id; used when Str is empty
	Str string // string room id
}

// IsString reports whether this is a string room id.
func (r Room) IsString() bool { return r.Str != "" }

func (r Room) String() string {
	if r.IsString() {
		return fmt.Sprintf("%q", r.Str)
	}
	return fmt.Sprint(r.ID)
}

// UserBuf is the binary payload of a privateMapKey: who may do what in which
// room, until when. All integers are big-endian on the wire.
type UserBuf struct {
	Version     uint8 // 0 = numeric room, 1 = string room
	Account     string
	SDKAppID    uint32
	RoomID      uint32 // the numeric room ("authid"); 0 in string-room keys
	ExpireTime  uint32 // absolute Unix seconds (generation time + expire, 32 bits)
	Privilege   Privilege
	AccountType uint32 // always 0 from the v2 libraries
	StrRoomID   string // only with Version 1
}

// Room returns the room the key grants.
func (u *UserBuf) Room() Room {
	if u.Version == 1 {
		return Room{Str: u.StrRoomID}
	}
	return Room{ID: u.RoomID}
}

// grants reports whether the key is for room r, honouring the namespaces.
func (u *UserBuf) grants(r Room) bool {
	if r.IsString() {
		return u.Version == 1 && u.StrRoomID == r.Str
	}
	return u.Version == 0 && u.RoomID == r.ID
}

// fixedUserBufLen is the userbuf size without the account and room strings.
const fixedUserBufLen = 1 + 2 + 4*5

// ParseUserBuf decodes a userbuf. It is strict: unknown versions, short
// buffers and trailing bytes are errors.
func ParseUserBuf(b []byte) (*UserBuf, error) {
	if len(b) < fixedUserBufLen {
		return nil, fmt.Errorf("userbuf is %d bytes, want at least %d", len(b), fixedUserBufLen)
	}
	u := &UserBuf{Version: b[0]}
	if u.Version > 1 {
		return nil, fmt.Errorf("userbuf version %d is unknown", u.Version)
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) < fixedUserBufLen+n {
		return nil, fmt.Errorf("userbuf account length %d overruns the buffer", n)
	}
	u.Account = string(b[3 : 3+n])
	rest := b[3+n:]
	u.SDKAppID = binary.BigEndian.Uint32(rest[0:])
	u.RoomID = binary.BigEndian.Uint32(rest[4:])
	u.ExpireTime = binary.BigEndian.Uint32(rest[8:])
	u.Privilege = Privilege(binary.BigEndian.Uint32(rest[12:]))
	u.AccountType = binary.BigEndian.Uint32(rest[16:])
	rest = rest[20:]
	if u.Version == 1 {
		if len(rest) < 2 {
			return nil, fmt.Errorf("userbuf version 1 lacks the room string length")
		}
		m := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+m {
			return nil, fmt.Errorf("userbuf room string length %d overruns the buffer", m)
		}
		u.StrRoomID = string(rest[2 : 2+m])
		rest = rest[2+m:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("userbuf has %d trailing bytes", len(rest))
	}
	return u, nil
}

// Marshal encodes the userbuf as the official generators do. Version is
// derived from StrRoomID (1 when it is non-empty), as they derive it.
func (u *UserBuf) Marshal() []byte {
	b := make([]byte, 0, fixedUserBufLen+len(u.Account)+2+len(u.StrRoomID))
	version := byte(0)
	if u.StrRoomID != "" {
		version = 1
	}
	b = append(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(u.Account)))
	b = append(b, u.Account...)
	for _, v := range []uint32{u.SDKAppID, u.RoomID, u.ExpireTime, uint32(u.Privilege), u.AccountType} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	if version == 1 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(u.StrRoomID)))
		b = append(b, u.StrRoomID...)
	}
	return b
}
