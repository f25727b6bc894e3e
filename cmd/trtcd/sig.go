package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

const sigUsage = `Usage:
  trtcd sig gen usersig --sdkappid N --key K --userid U [--expire SECONDS]
  trtcd sig gen privatemapkey --sdkappid N --key K --userid U (--roomid N | --strroomid S) --privilege N [--expire SECONDS]
  trtcd sig verify usersig --sdkappid N --key K --userid U --sig S [--at UNIXSECONDS]
  trtcd sig verify privatemapkey --sdkappid N --key K --userid U --sig S (--roomid N | --strroomid S) [--at UNIXSECONDS]

verify prints one JSON object {"valid":bool,"reason":"ok|malformed|wrong_sdkappid|wrong_user|expired|bad_signature|room_mismatch",...}
and exits 0 when the token is valid, 1 when it is not, 2 on a usage error.
Privilege bits: 1 create room, 2 enter room, 4 send audio, 8 receive audio, 16 send video,
32 receive video, 64 send sub-stream, 128 receive sub-stream (255 = all).
`

// sigFlags are the flags shared by the sig subcommands.
type sigFlags struct {
	sdkAppID  uint
	key       string
	userID    string
	expire    int64
	roomID    uint
	strRoomID string
	privilege int64
	sig       string
	at        int64
}

func sig(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, sigUsage)
		return exitUsage
	}
	op, kind := args[0]+" "+args[1], args[1]
	if kind != "usersig" && kind != "privatemapkey" || args[0] != "gen" && args[0] != "verify" {
		fmt.Fprintf(stderr, "trtcd sig: unknown command %q\n\n%s", op, sigUsage)
		return exitUsage
	}
	pmk := kind == "privatemapkey"
	fs := flag.NewFlagSet("trtcd sig "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sigUsage) }
	var f sigFlags
	fs.UintVar(&f.sdkAppID, "sdkappid", 0, "application id")
	fs.StringVar(&f.key, "key", "", "the application's secret key")
	fs.StringVar(&f.userID, "userid", "", "user id")
	if pmk {
		fs.UintVar(&f.roomID, "roomid", 0, "numeric room id (1-4294967295)")
		fs.StringVar(&f.strRoomID, "strroomid", "", "string room id")
	}
	if args[0] == "gen" {
		fs.Int64Var(&f.expire, "expire", int64(tlssig.DefaultExpire/time.Second), "lifetime in seconds")
		if pmk {
			fs.Int64Var(&f.privilege, "privilege", -1, "privilege map (0-255)")
		}
	} else {
		fs.StringVar(&f.sig, "sig", "", "the token to verify")
		fs.Int64Var(&f.at, "at", 0, "verify as of this Unix time (default now)")
	}
	if err := fs.Parse(args[2:]); err != nil {
		return exitStatus(usageError(err), stderr)
	}
	room, err := f.check(fs, args[0], pmk)
	if err != nil {
		return exitStatus(err, stderr)
	}
	if args[0] == "gen" {
		fmt.Fprintln(stdout, f.gen(pmk, room))
		return exitOK
	}
	return f.verify(pmk, room, stdout)
}

func (f *sigFlags) check(fs *flag.FlagSet, op string, pmk bool) (tlssig.Room, error) {
	switch {
	case fs.NArg() > 0:
		return tlssig.Room{}, usageErrorf("unexpected argument %q", fs.Arg(0))
	case f.sdkAppID == 0 || f.sdkAppID > 1<<32-1:
		return tlssig.Room{}, usageErrorf("--sdkappid is required (1-4294967295)")
	case f.key == "":
		return tlssig.Room{}, usageErrorf("--key is required")
	case f.userID == "":
		return tlssig.Room{}, usageErrorf("--userid is required")
	case op == "gen" && f.expire <= 0:
		return tlssig.Room{}, usageErrorf("--expire must be a positive number of seconds")
	case op == "gen" && pmk && (f.privilege < 0 || f.privilege > 255):
		return tlssig.Room{}, usageErrorf("--privilege is required (0-255)")
	case op == "verify" && f.sig == "":
		return tlssig.Room{}, usageErrorf("--sig is required")
	}
	if !pmk {
		return tlssig.Room{}, nil
	}
	if (f.roomID == 0) == (f.strRoomID == "") {
		return tlssig.Room{}, usageErrorf("give exactly one of --roomid (1-4294967295) and --strroomid")
	}
	if f.roomID > 1<<32-1 {
		return tlssig.Room{}, usageErrorf("--roomid %d is above 4294967295", f.roomID)
	}
	return tlssig.Room{ID: uint32(f.roomID), Str: f.strRoomID}, nil
}

func (f *sigFlags) gen(pmk bool, room tlssig.Room) string {
	expire := time.Duration(f.expire) * time.Second
	if pmk {
		return tlssig.GenPrivateMapKey(f.key, uint32(f.sdkAppID), f.userID, expire, time.Now(), room, tlssig.Privilege(f.privilege))
	}
	return tlssig.GenUserSig(f.key, uint32(f.sdkAppID), f.userID, expire, time.Now())
}

// verifyReport is the JSON that `trtcd sig verify` prints. Operators script
// against it: add fields, never rename or remove them.
type verifyReport struct {
	Valid      bool           `json:"valid"`
	Reason     string         `json:"reason"`
	Detail     string         `json:"detail,omitempty"`
	TLS        *tlsReport     `json:"tls,omitempty"`
	Privilege  *uint32        `json:"privilege,omitempty"`
	Privileges []string       `json:"privileges,omitempty"`
	UserBuf    *userBufReport `json:"userbuf,omitempty"`
}

type tlsReport struct {
	Ver        string `json:"ver"`
	Identifier string `json:"identifier"`
	SDKAppID   uint64 `json:"sdkappid"`
	Time       int64  `json:"time"`
	Expire     int64  `json:"expire"`
	ExpiresAt  int64  `json:"expires_at"`
}

type userBufReport struct {
	Version     uint8  `json:"version"`
	UserID      string `json:"userid"`
	SDKAppID    uint32 `json:"sdkappid"`
	RoomID      uint32 `json:"roomid"`
	StrRoomID   string `json:"strroomid"`
	ExpireTime  uint32 `json:"expire_time"`
	AccountType uint32 `json:"account_type"`
}

func (f *sigFlags) verify(pmk bool, room tlssig.Room, stdout io.Writer) int {
	now := time.Now()
	if f.at != 0 {
		now = time.Unix(f.at, 0)
	}
	var tok *tlssig.Token
	var key *tlssig.PrivateMapKey
	var err error
	if pmk {
		key, err = tlssig.VerifyPrivateMapKey(f.key, uint32(f.sdkAppID), f.userID, f.sig, room, now)
		if key != nil {
			tok = key.Token
		}
	} else {
		tok, err = tlssig.VerifyUserSig(f.key, uint32(f.sdkAppID), f.userID, f.sig, now)
	}
	r := verifyReport{Valid: err == nil, Reason: tlssig.Reason(err)}
	if err != nil {
		r.Detail = err.Error()
	}
	if tok != nil {
		r.TLS = &tlsReport{tok.Version, tok.Identifier, tok.SDKAppID, tok.Time, tok.Expire, tok.Expires()}
	}
	if key != nil && err == nil {
		p := uint32(key.Buf.Privilege)
		r.Privilege, r.Privileges = &p, key.Buf.Privilege.Names()
		b := key.Buf
		r.UserBuf = &userBufReport{b.Version, b.Account, b.SDKAppID, b.RoomID, b.StrRoomID, b.ExpireTime, b.AccountType}
	}
	out, _ := json.Marshal(r)
	fmt.Fprintln(stdout, string(out))
	if err != nil {
		return exitFail
	}
	return exitOK
}
