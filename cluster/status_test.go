package cluster

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStatusShowsEveryNodeAndRoomWithWhoIsWhere(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, 5*time.Second)
	for _, n := range []NodeInfo{
		{ID: "b", Relay: "10.0.0.2:7900", HTTP: "10.0.0.2:8080", Media: "10.0.0.2:8000", Rooms: 2, Streams: 0},
		{ID: "a", Relay: "10.0.0.1:7900", HTTP: "10.0.0.1:8080", Rooms: 1, Streams: 2, CPU: 0.25, Bitrate: 1_600_000},
	} {
		if err := d.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	const classroom, lobby = "1400000001/42", "1400000001/s:lobby"
	// alice publishes on a; b has an audience in the classroom and a lobby
	// where nobody publishes.
	if err := d.Announce(ctx, "a", []string{classroom}, []Publication{
		{Room: classroom, User: "alice", Kind: "video"}, {Room: classroom, User: "alice", Kind: "audio"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Announce(ctx, "b", []string{classroom, lobby}, nil); err != nil {
		t.Fatal(err)
	}

	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := []string{st.Nodes[0].ID, st.Nodes[1].ID}; len(st.Nodes) != 2 || ids[0] != "a" || ids[1] != "b" {
		t.Fatalf("nodes = %+v, want a then b", st.Nodes)
	}
	if n := st.Nodes[1]; n.Relay != "10.0.0.2:7900" || n.HTTP != "10.0.0.2:8080" || n.Rooms != 2 || n.Updated == 0 {
		t.Errorf("b's record = %+v", n)
	}
	want := []RoomStatus{
		{Key: classroom, Nodes: []string{"a", "b"}, Publications: []Publication{
			{Room: classroom, User: "alice", Kind: "audio", Node: "a"}, {Room: classroom, User: "alice", Kind: "video", Node: "a"}}},
		{Key: lobby, Nodes: []string{"b"}, Publications: []Publication{}},
	}
	if !reflect.DeepEqual(st.Rooms, want) {
		t.Fatalf("rooms =\n%+v\nwant\n%+v", st.Rooms, want)
	}

	var out bytes.Buffer
	if err := st.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Logf("\n%s", text)
	for _, line := range []string{
		"NODES (2)",
		"a 10.0.0.1:7900 10.0.0.1:8080 - 0s ago 1 2 0.25 1.6",
		"b 10.0.0.2:7900 10.0.0.2:8080 10.0.0.2:8000 0s ago 2 0 0.00 0.0",
		"ROOMS (2)",
		"1400000001/42 a,b alice audio@a, alice video@a",
		"1400000001/s:lobby b -",
	} {
		if !hasLine(text, line) {
			t.Errorf("the status text lacks %q", line)
		}
	}
}

// hasLine reports whether text has a line with the words of line, however
// the columns are padded.
func hasLine(text, line string) bool {
	want := strings.Join(strings.Fields(line), " ")
	for l := range strings.Lines(text) {
		if strings.Join(strings.Fields(l), " ") == want {
			return true
		}
	}
	return false
}

func TestStatusOfAnEmptyClusterSaysSo(t *testing.T) {
	st, err := newTestDirectory(t, time.Second).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st.WriteText(&out)
	if got := out.String(); got != "NODES (0)\n\nROOMS (0)\n" {
		t.Errorf("empty status = %q", got)
	}
}

func TestStatusWithoutRedisIsAnUnreachableDirectory(t *testing.T) {
	d, err := NewDirectory("redis://127.0.0.1:1/0", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Status(context.Background()); !errors.Is(err, ErrNoDirectory) {
		t.Fatalf("Status without Redis: %v, want ErrNoDirectory", err)
	}
}
