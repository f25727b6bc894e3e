package restapi

import (
	"strconv"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// classroomOp serves the classroom operations of the room REST API
// (docs/classroom.md): create_classroom, destroy_classroom,
// list_classrooms, classroom_members, send_system_message and
// classroom_history. Failures carry the classroom codes (Tencent IM's);
// the classroom store failing is the server table's 10006.
func (s *Server) classroomOp(app trtc.App, op string, req restRequest) (map[string]any, *trtc.Error) {
	data, e := s.classOp(app, op, req)
	if e != nil && e.Code == trtc.CodeParamCheckFailed {
		// On these calls the classroom package answers 82 only when its
		// store fails (the parameters were checked here).
		e = trtc.Errorf(trtc.RestStorageError, "%s", e.Message)
	}
	return data, e
}

func (s *Server) classOp(app trtc.App, op string, req restRequest) (map[string]any, *trtc.Error) {
	cs := s.Classrooms
	if cs == nil {
		return nil, trtc.Errorf(trtc.RestBadRequest, "classrooms are not enabled on this server")
	}
	if op == "list_classrooms" {
		list := cs.List(app.SDKAppID)
		for _, c := range list {
			id := tlssig.Room{ID: c["classId"].(uint32), Str: c["strClassId"].(string)}
			c["members"] = len(s.classMembers(app, id))
		}
		return map[string]any{"classrooms": list}, nil
	}
	id, e := trtc.ParseRoom(formatClassID(req.ClassID), req.StrClassID)
	if e != nil { // in this table 10005 is "unauthorized": a bad class id is an invalid parameter
		return nil, trtc.Errorf(trtc.RestInvalidParam, "%s", e.Message)
	}
	switch op {
	case "create_classroom":
		if req.Creator == "" {
			return nil, trtc.Errorf(trtc.RestInvalidParam, "creator is required")
		}
		return classroom.Ref(id), cs.Create(app.SDKAppID, id, req.Creator)
	case "destroy_classroom":
		return nil, cs.Destroy(app, id, adminIdentifier(app))
	case "classroom_members":
		if _, _, e := cs.Info(app.SDKAppID, id); e != nil {
			return nil, e
		}
		return map[string]any{"members": s.classMembers(app, id)}, nil
	case "classroom_history":
		return cs.History(nil, app.SDKAppID, id, req.AfterSeq, req.Limit)
	}
	// send_system_message: a group text from the admin identifier, as if
	// it were a member.
	msg, e := cs.SendAsServer(app.SDKAppID, adminIdentifier(app), id, req.Text)
	if e != nil {
		return nil, e
	}
	return map[string]any{"seq": msg.Seq, "time": msg.Time}, nil
}

func adminIdentifier(app trtc.App) string {
	if len(app.Admins) > 0 {
		return app.Admins[0]
	}
	return trtc.DefaultAdmin
}

// classMembers lists the members of a class's live room (none when the
// room is empty).
func (s *Server) classMembers(app trtc.App, id tlssig.Room) []trtc.MemberInfo {
	room := s.Gate.Rooms.Find(app.SDKAppID, "", id)
	if room == nil {
		return []trtc.MemberInfo{}
	}
	return s.Gate.Rooms.RoomMembers(room)
}

// formatClassID is a numeric class id as the ways in carry it: "" for none.
func formatClassID(id uint32) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(id), 10)
}
