package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

const cliKey = "5427f2b66ede9e41a3fdf299cf6395414d005f0239ebf39830cff9d23107e176"

// trtcd runs the command in-process and returns its exit status and output.
func trtcd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func verifyJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("verify output is not one JSON object: %q", stdout)
	}
	return r
}

func TestSigGenOutputVerifies(t *testing.T) {
	code, sig, _ := trtcd("sig", "gen", "usersig", "--sdkappid", "1400000001", "--key", cliKey, "--userid", "alice", "--expire", "600")
	if code != 0 {
		t.Fatalf("gen usersig exit %d", code)
	}
	code, out, _ := trtcd("sig", "verify", "usersig", "--sdkappid", "1400000001", "--key", cliKey, "--userid", "alice", "--sig", strings.TrimSpace(sig))
	r := verifyJSON(t, out)
	if code != 0 || r["valid"] != true || r["reason"] != "ok" {
		t.Fatalf("verify usersig: exit %d %s", code, out)
	}

	code, key, _ := trtcd("sig", "gen", "privatemapkey", "--sdkappid", "1400000001", "--key", cliKey, "--userid", "alice",
		"--strroomid", "class_2024-A", "--privilege", "171")
	if code != 0 {
		t.Fatalf("gen privatemapkey exit %d", code)
	}
	code, out, _ = trtcd("sig", "verify", "privatemapkey", "--sdkappid", "1400000001", "--key", cliKey, "--userid", "alice",
		"--strroomid", "class_2024-A", "--sig", strings.TrimSpace(key))
	r = verifyJSON(t, out)
	names := []string{"create_room", "enter_room", "recv_audio", "recv_video", "recv_sub_video"}
	if code != 0 || r["valid"] != true || r["privilege"] != float64(171) || !slices.Equal(toStrings(r["privileges"]), names) {
		t.Fatalf("verify privatemapkey: exit %d %s", code, out)
	}
	if ub := r["userbuf"].(map[string]any); ub["strroomid"] != "class_2024-A" || ub["version"] != float64(1) {
		t.Fatalf("userbuf = %v", ub)
	}

	// The key does not open a string room of another name.
	code, out, _ = trtcd("sig", "verify", "privatemapkey", "--sdkappid", "1400000001", "--key", cliKey, "--userid", "alice",
		"--strroomid", "class_2024-B", "--sig", strings.TrimSpace(key))
	if r = verifyJSON(t, out); code != 1 || r["valid"] != false || r["reason"] != "room_mismatch" || r["privilege"] != nil {
		t.Fatalf("other room: exit %d %s", code, out)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// Operators may check tokens minted by Tencent's own libraries with the CLI.
func TestSigVerifyOfficialVectors(t *testing.T) {
	data, err := os.ReadFile("../../trtc/tlssig/testdata/tlssig_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name, Kind, Key, UserID, Sig string
			SDKAppID                     uint32  `json:"sdkappid"`
			RoomID                       *uint32 `json:"roomid"`
			StrRoomID                    *string `json:"strroomid"`
			VerifyAt                     int64   `json:"verify_at"`
			Expect                       struct {
				Valid  bool
				Reason string
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Cases {
		args := []string{"sig", "verify", c.Kind, "--sdkappid", jsonNum(c.SDKAppID), "--key", c.Key, "--userid", c.UserID,
			"--sig", c.Sig, "--at", jsonNum(c.VerifyAt)}
		if c.RoomID != nil {
			args = append(args, "--roomid", jsonNum(*c.RoomID))
		}
		if c.StrRoomID != nil {
			args = append(args, "--strroomid", *c.StrRoomID)
		}
		if c.Sig == "" {
			continue // an empty --sig is a usage error, tested below
		}
		code, out, _ := trtcd(args...)
		r := verifyJSON(t, out)
		wantCode := 1
		if c.Expect.Valid {
			wantCode = 0
		}
		if code != wantCode || r["reason"] != c.Expect.Reason {
			t.Errorf("%s: exit %d %s, want reason %s", c.Name, code, out, c.Expect.Reason)
		}
	}
}

func jsonNum[T uint32 | int64](v T) string { b, _ := json.Marshal(v); return string(b) }

func TestSigUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"sig"},
		{"sig", "gen", "token"},
		{"sig", "gen", "usersig", "--key", "k", "--userid", "u"},
		{"sig", "gen", "usersig", "--sdkappid", "x", "--key", "k", "--userid", "u"},
		{"sig", "gen", "privatemapkey", "--sdkappid", "1", "--key", "k", "--userid", "u", "--roomid", "5"},
		{"sig", "gen", "privatemapkey", "--sdkappid", "1", "--key", "k", "--userid", "u", "--roomid", "5", "--strroomid", "a", "--privilege", "1"},
		{"sig", "verify", "usersig", "--sdkappid", "1", "--key", "k", "--userid", "u", "--sig", ""},
		{"sig", "verify", "privatemapkey", "--sdkappid", "1", "--key", "k", "--userid", "u", "--sig", "abc"},
		{"bogus"},
	} {
		if code, out, _ := trtcd(args...); code != 2 || out != "" {
			t.Errorf("trtcd %v: exit %d, stdout %q; want 2 and nothing on stdout", args, code, out)
		}
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := trtcd("version"); code != 0 || !strings.HasPrefix(out, "trtcd ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
