package restapi_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// The application server runs classes over REST: create, list, members,
// a system message members receive, history, destroy.
func TestClassroomREST(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, classroom.DefaultLimits)
	admin := sigFor(open, trtc.DefaultAdmin, time.Hour)
	call := func(op, body string, want trtc.Code) map[string]any {
		t.Helper()
		got := rest(t, s.URL, op, trtc.DefaultAdmin, admin, body)
		if codeOf(got) != want {
			t.Fatalf("%s %s: %v, want code %d", op, body, got, want)
		}
		return got
	}
	call("create_classroom", `{"classId":601}`, trtc.RestInvalidParam)     // no creator
	call("create_classroom", `{"creator":"ms-li"}`, trtc.RestInvalidParam) // no classId: in the REST table 10005 is "unauthorized"
	call("create_classroom", `{"classId":601,"creator":"ms-li"}`, 0)
	call("create_classroom", `{"classId":601,"creator":"ms-li"}`, trtc.CodeIMGroupExists)
	student := s.LoggedIn(t, "tom")
	if r := student.Request("joinClassroom", ws.ClassData{ClassID: 601}); r.Code != 0 {
		t.Fatalf("joinClassroom: %d %s", r.Code, r.Message)
	}
	if list := call("list_classrooms", "", 0)["classrooms"].([]any); len(list) != 1 || list[0].(map[string]any)["members"] != 1.0 {
		t.Fatalf("list: %v", list)
	}
	if m := call("classroom_members", `{"classId":601}`, 0)["members"].([]any); len(m) != 1 {
		t.Fatalf("members: %v", m)
	}
	call("classroom_members", `{"classId":602}`, trtc.CodeIMGroupNotFound)
	call("send_system_message", `{"classId":601,"text":"class starts in 5 minutes"}`, 0)
	if d, ok := student.Event(classroom.EventMessage, 2*time.Second); !ok || d["text"] != "class starts in 5 minutes" || d["from"] != trtc.DefaultAdmin {
		t.Fatalf("the student got %v", d)
	}
	if h := call("classroom_history", `{"classId":601,"afterSeq":0}`, 0)["messages"].([]any); len(h) != 1 {
		t.Fatalf("history: %v", h)
	}
	call("destroy_classroom", `{"classId":601}`, 0)
	if _, ok := student.Event(classroom.EventDestroyed, 2*time.Second); !ok {
		t.Fatal("the student was not told")
	}
	call("classroom_history", `{"classId":601}`, trtc.CodeIMGroupNotFound)

	// The database gone: the server table's "database request error".
	s.Classes.DB.Close()
	call("create_classroom", `{"classId":603,"creator":"ms-li"}`, trtc.RestStorageError)
}

// A server without classrooms says so.
func TestClassroomOperationsNeedClassrooms(t *testing.T) {
	s := testways.Start(t, 0, nil)
	got := rest(t, s.URL, "list_classrooms", trtc.DefaultAdmin, sigFor(open, trtc.DefaultAdmin, time.Hour), "")
	if codeOf(got) != trtc.RestBadRequest || got["message"] != "classrooms are not enabled on this server" {
		t.Fatalf("list_classrooms: %v", got)
	}
}
