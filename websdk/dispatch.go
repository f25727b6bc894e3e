package websdk

import (
	"log/slog"

	"github.com/trtcd/trtcd/trtc"
)

// command is how one SDK command is served.
type command struct {
	reply int  // the reply's cmd; 0: the SDK expects none
	media bool // negotiates media: runs on the media loop, in order
	run   func(c *conn, req *Request, m *trtc.Member) (any, *trtc.Error)
}

// commands maps the SDK's command names to trtcd. join is served apart
// (it makes the member the others need).
var commands = map[string]command{
	"leave":                    {run: (*conn).leaveCmd},
	"quality_report":           {run: nop}, // the heartbeat: dispatch has marked the member alive
	"get_user_list":            {reply: cmdUserListResult, run: (*conn).userList},
	"publish":                  {reply: cmdPublishResult, media: true, run: (*conn).publish},
	"unpublish":                {reply: cmdUnpublishResult, media: true, run: (*conn).unpublish},
	"subscribe":                {reply: cmdSubscribeResult, media: true, run: (*conn).subscribe},
	"unsubscribe":              {reply: cmdUnsubscribeResult, media: true, run: (*conn).unsubscribe},
	"mute_uplink":              {reply: cmdMuteResult, run: (*conn).mute},
	"change_role":              {reply: cmdSwitchRoleResult, media: true, run: (*conn).changeRole},
	"publish_state_change":     {reply: cmdPublishStateResult, media: true, run: (*conn).publishStateChange},
	"subscribe_change":         {reply: cmdSubscribeChange, media: true, run: (*conn).subscribeChange},
	"update_constraint_config": {reply: cmdConstraintResult, run: nop},
}

// nop accepts a command that changes nothing trtcd tracks
// (docs/trtc-web-sdk.md, "Not implemented").
func nop(*conn, *Request, *trtc.Member) (any, *trtc.Error) { return nil, nil }

// dispatch serves one frame from the read loop.
func (c *conn) dispatch(req *Request) {
	if req.Cmd == "join" {
		c.join(req)
		return
	}
	if reply, ok := unsupported[req.Cmd]; ok {
		c.send(Reply{Cmd: reply, Seq: req.Seq, Code: codeUnsupported, Message: req.Cmd + " is a Tencent cloud feature trtcd does not have"})
		return
	}
	cmd, ok := commands[req.Cmd]
	if !ok {
		c.log.Debug("unknown command ignored", "cmd", req.Cmd)
		return
	}
	if m := c.current(); m != nil {
		c.h.Gate.Rooms.Heartbeat(m) // every frame shows the client is alive
	}
	if !cmd.media || c.media == nil || c.h.inlineMedia { // before login it is refused at once
		c.execute(cmd, req)
		return
	}
	select {
	case c.media <- req:
	default:
		c.reply(cmd, req, nil, trtc.Errorf(trtc.CodeRateLimited, "too many media requests at once"))
	}
}

// execute runs a command for the current member and sends its reply.
func (c *conn) execute(cmd command, req *Request) {
	m := c.current()
	if m == nil && req.Cmd != "leave" && req.Cmd != "quality_report" {
		c.reply(cmd, req, nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%s before join", req.Cmd))
		return
	}
	data, e := cmd.run(c, req, m)
	c.reply(cmd, req, data, e)
}

func (c *conn) reply(cmd command, req *Request, data any, e *trtc.Error) {
	if cmd.reply == 0 {
		return
	}
	r := Reply{Cmd: cmd.reply, Seq: req.Seq, Data: data}
	if e != nil {
		r.Code, r.Message, r.Data = int(e.Code), e.Message, nil
		c.h.refusedLog.log(c.log, slog.LevelInfo, "command refused", "cmd", req.Cmd, "code", e.Code, "message", e.Message)
	}
	c.send(r)
}

// mediaLoop runs the media commands in the order they came.
func (c *conn) mediaLoop(media <-chan *Request) {
	for {
		select {
		case req := <-media:
			c.execute(commands[req.Cmd], req)
		case <-c.done:
			return
		}
	}
}

// current is the member this socket speaks for (nil before join and after
// leave).
func (c *conn) current() *trtc.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.member
}
