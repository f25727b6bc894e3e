package trtc

import (
	"fmt"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// classroomOp serves the classroom operations of the room REST API
// (docs/classroom.md); failures carry the classroom codes.
func (a *RoomAPI) classroomOp(app App, op string, req restRequest) (map[string]any, *Error) {
	cs := a.Classrooms
	if cs == nil {
		return nil, Errorf(RestBadRequest, "classrooms are not enabled on this server")
	}
	if op == "list_classrooms" {
		list := cs.List(app.SDKAppID)
		for _, c := range list {
			id := tlssig.Room{ID: c["classId"].(uint32), Str: c["strClassId"].(string)}
			c["members"] = len(a.classMembers(app, id))
		}
		return map[string]any{"classrooms": list}, nil
	}
	id, e := parseRoom(formatRoomID(req.ClassID), req.StrClassID)
	if e != nil {
		return nil, e
	}
	switch op {
	case "create_classroom":
		if req.Creator == "" {
			return nil, Errorf(RestInvalidParam, "creator is required")
		}
		return classRef(id), cs.Create(app.SDKAppID, id, req.Creator)
	case "destroy_classroom":
		return nil, cs.Destroy(app, id, adminIdentifier(app))
	case "classroom_members":
		if _, _, e := cs.Info(app.SDKAppID, id); e != nil {
			return nil, e
		}
		return map[string]any{"members": a.classMembers(app, id)}, nil
	case "classroom_history":
		return cs.History(app.SDKAppID, id, req.AfterSeq, req.Limit)
	}
	return a.systemMessage(app, id, req.Text)
}

// systemMessage sends a group text from the admin identifier, as if it
// were a member.
func (a *RoomAPI) systemMessage(app App, id tlssig.Room, text string) (map[string]any, *Error) {
	cs := a.Classrooms
	admin := adminIdentifier(app)
	cs.signIn(app.SDKAppID, admin, restPeer{}) // here only: not where the admin's C2C messages go in a cluster
	m := &Member{App: app.SDKAppID, UserID: admin, Room: &Room{Key: RoomKey(app.SDKAppID, id), ID: id}}
	msg, e := cs.Send(app.SDKAppID, admin, m, SendRequest{Type: "text", Text: text,
		ClientMsgID: fmt.Sprintf("system-%d", time.Now().UnixNano())})
	if e != nil {
		return nil, e
	}
	return map[string]any{"seq": msg.Seq, "time": msg.Time}, nil
}

func adminIdentifier(app App) string {
	if len(app.Admins) > 0 {
		return app.Admins[0]
	}
	return DefaultAdmin
}

// classMembers lists the members of a class's live room (none when the
// room is empty).
func (a *RoomAPI) classMembers(app App, id tlssig.Room) []MemberInfo {
	room := a.Rooms.Find(app.SDKAppID, "", id)
	if room == nil {
		return []MemberInfo{}
	}
	return a.Rooms.RoomMembers(room)
}
