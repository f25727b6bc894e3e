// rest-admin is an application server's view of trtcd: it calls the room
// REST API (docs/rest-api.md) as an admin identifier to list the live
// rooms, show a room's members, remove a user or close a room.
//
//	rest-admin [flags] list
//	rest-admin [flags] members  -room N | -strroom NAME | -uuid UUID
//	rest-admin [flags] kick     -user U (-room N | -strroom NAME)
//	rest-admin [flags] close    -room N | -strroom NAME | -uuid UUID
//	rest-admin [flags] locate   -room N | -strroom NAME
//	rest-admin [flags] call OP '{"json": "body"}'   (any other operation)
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "trtcd's HTTP base URL")
	app := flag.Uint("app", 0, "sdkAppId")
	key := flag.String("key", "", "the app's secret key, to sign the admin's userSig (printed by trtcd serve)")
	admin := flag.String("admin", "administrator", "the admin identifier (apps[].admins in trtcd's config; administrator by default)")
	userSig := flag.String("usersig", "", "a ready userSig for -admin (instead of -key)")
	room := flag.Uint("room", 0, "numeric roomId")
	strRoom := flag.String("strroom", "", "string room id")
	uuid := flag.String("uuid", "", "a live room's roomUUID (from list)")
	user := flag.String("user", "", "the userId to remove (kick)")
	asJSON := flag.Bool("json", false, "print the reply as it came")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), `usage: rest-admin [flags] COMMAND
commands:
  list                                          the live rooms
  members  -room N | -strroom NAME | -uuid UUID   a room's members
  kick     -user U -room N | -strroom NAME        remove a user (force-offline)
  close    -room N | -strroom NAME | -uuid UUID   close a room, removing everyone
  locate   -room N | -strroom NAME                the node a room's next member should use
  call OP 'JSON'                                any operation with the body given
flags (before or after the command):
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	// Flags may also follow the command: rest-admin list -app N -key K.
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	cmd, rest := args[0], args[1:]
	var positional []string
	for len(rest) > 0 {
		if err := flag.CommandLine.Parse(rest); err != nil {
			os.Exit(2)
		}
		rest = flag.Args()
		if len(rest) > 0 {
			positional, rest = append(positional, rest[0]), rest[1:]
		}
	}

	if *app == 0 || *key == "" && *userSig == "" {
		log.Fatal("-app and -key (or -usersig, the admin's userSig) are required; trtcd serve prints the development app's")
	}
	sig := *userSig
	if sig == "" {
		sig = tlssig.GenUserSig(*key, uint32(*app), *admin, time.Hour, time.Now())
	}
	c := &client{server: strings.TrimRight(*server, "/"), app: uint32(*app), admin: *admin, sig: sig, raw: *asJSON}

	roomBody := map[string]any{}
	switch {
	case *uuid != "":
		roomBody["roomUUID"] = *uuid
	case *strRoom != "":
		roomBody["strRoomId"] = *strRoom
	case *room != 0:
		roomBody["roomId"] = *room
	}
	needRoom := func(uuidOK bool) {
		if len(roomBody) == 0 || !uuidOK && *uuid != "" {
			if uuidOK {
				log.Fatalf("%s needs -room, -strroom or -uuid", cmd)
			}
			log.Fatalf("%s needs -room or -strroom", cmd)
		}
	}

	switch cmd {
	case "list":
		var r struct {
			Rooms []struct {
				UUID        string `json:"roomUUID"`
				RoomID      uint32 `json:"roomId"`
				StrRoomID   string `json:"strRoomId"`
				Template    string `json:"template"`
				Capacity    int    `json:"capacity"`
				MemberCount int    `json:"memberCount"`
				CreateTime  int64  `json:"createTime"`
			} `json:"rooms"`
		}
		if !c.call("get_room_list", nil, &r) {
			return
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ROOM\tROOM UUID\tMEMBERS\tTEMPLATE\tCREATED")
		for _, room := range r.Rooms {
			id := fmt.Sprint(room.RoomID)
			if room.StrRoomID != "" {
				id = fmt.Sprintf("%q", room.StrRoomID)
			}
			if room.Template == "" {
				room.Template = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s\t%s\n", id, room.UUID, room.MemberCount, room.Capacity, room.Template,
				time.Unix(room.CreateTime, 0).Format(time.DateTime))
		}
		w.Flush()
		fmt.Printf("%d live rooms\n", len(r.Rooms))
	case "members":
		needRoom(true)
		var r struct {
			UUID    string `json:"roomUUID"`
			Members []struct {
				UserID     string `json:"userId"`
				Audio      bool   `json:"audio"`
				Video      bool   `json:"video"`
				AudioMuted bool   `json:"audioMuted"`
				VideoMuted bool   `json:"videoMuted"`
			} `json:"members"`
		}
		if !c.call("get_room_members", roomBody, &r) {
			return
		}
		fmt.Printf("room %s\n", r.UUID)
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "USER\tAUDIO\tVIDEO")
		for _, m := range r.Members {
			fmt.Fprintf(w, "%s\t%s\t%s\n", m.UserID, publishing(m.Audio, m.AudioMuted), publishing(m.Video, m.VideoMuted))
		}
		w.Flush()
		fmt.Printf("%d members\n", len(r.Members))
	case "kick":
		needRoom(false)
		if *user == "" {
			log.Fatal("kick needs -user")
		}
		roomBody["userId"] = *user
		if c.call("kick_user", roomBody, nil) {
			fmt.Printf("removed %s\n", *user)
		}
	case "close":
		needRoom(true)
		if c.call("close_room", roomBody, nil) {
			fmt.Println("closed")
		}
	case "locate":
		needRoom(false)
		var r struct {
			Cluster bool   `json:"cluster"`
			Node    string `json:"node"`
			HTTP    string `json:"http"`
			HTTPS   string `json:"https"`
		}
		if !c.call("locate_room", roomBody, &r) {
			return
		}
		if !r.Cluster {
			fmt.Println("a single node: use this server")
		} else {
			fmt.Printf("node %s: http %s https %s\n", r.Node, r.HTTP, r.HTTPS)
		}
	case "call":
		if len(positional) < 1 || len(positional) > 2 {
			log.Fatal(`call needs an operation and, optionally, a JSON body: call enter_room '{"userId":"bob","roomId":1234}'`)
		}
		var body any
		if len(positional) == 2 {
			if err := json.Unmarshal([]byte(positional[1]), &body); err != nil {
				log.Fatalf("the body is not JSON: %v", err)
			}
		}
		c.raw = true
		c.call(positional[0], body, nil)
	default:
		flag.Usage()
		os.Exit(2)
	}
}

func publishing(on, muted bool) string {
	switch {
	case on && muted:
		return "muted"
	case on:
		return "on"
	}
	return "-"
}

// client calls the REST API as an admin identifier.
type client struct {
	server string
	app    uint32
	admin  string
	sig    string
	raw    bool // print replies as they are
}

// call POSTs an operation and decodes the reply into out. A failure ends
// the program (exit status 1) with the code and message. With -json it
// prints the reply instead and returns false: nothing is left to print.
func (c *client) call(op string, body, out any) bool {
	q := url.Values{
		"sdkappid":    {fmt.Sprint(c.app)},
		"identifier":  {c.admin},
		"usersig":     {c.sig},
		"random":      {fmt.Sprint(rand.Uint32())},
		"contenttype": {"json"},
	}
	b := []byte("{}")
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			log.Fatal(err)
		}
	}
	resp, err := http.Post(c.server+"/v4/trtcd/"+op+"?"+q.Encode(), "application/json", bytes.NewReader(b))
	if err != nil {
		log.Fatal(err)
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	// Every reply is HTTP 200 with {"code": 0, "message": "", ...}; other
	// statuses come from in front of the API (429: rate limited).
	var status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(reply, &status); err != nil {
		log.Fatalf("%s: %s: %s", op, resp.Status, strings.TrimSpace(string(reply)))
	}
	if c.raw {
		var pretty bytes.Buffer
		if json.Indent(&pretty, reply, "", "  ") == nil {
			reply = pretty.Bytes()
		}
		fmt.Println(string(reply))
	}
	if status.Code != 0 {
		log.Fatalf("%s: code %d: %s", op, status.Code, status.Message)
	}
	if c.raw {
		return false
	}
	if out != nil {
		if err := json.Unmarshal(reply, out); err != nil {
			log.Fatalf("%s: %v", op, err)
		}
	}
	return true
}
