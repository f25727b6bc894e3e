// rtmp-push prints the signed URLs and commands that push a test pattern
// into a trtcd room over RTMP with ffmpeg and play it back over RTMP or
// HTTP-FLV: the stream name is TRTC's {sdkAppId}_{roomId}_{userId}_main,
// the pusher signs with its own userSig, a player with the viewer's.
// With -env it prints shell variables instead (push.sh uses them).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"strings"

	"github.com/trtcd/trtcd/examples/internal/trtcdclient"
)

func main() {
	// -server, -app, -key, -usersig, -user, -room and -strroom, then this
	// example's own. Here -server also serves the HTTP-FLV plays, and -key
	// signs two userSigs.
	f := trtcdclient.DefineFlags("alice", "the pusher's userId")
	flag.Lookup("server").Usage = "trtcd's HTTP base URL (HTTP-FLV plays)"
	flag.Lookup("key").Usage = "the app's secret key, to sign the userSigs (printed by trtcd serve)"
	rtmpBase := flag.String("rtmp", "", "trtcd's RTMP base URL (default: rtmp://the -server host:1935)")
	viewer := flag.String("viewer", "bob", "the player's userId")
	viewerSig := flag.String("viewersig", "", "a ready userSig for -viewer (instead of -key)")
	env := flag.Bool("env", false, "print PUSH_URL, RTMP_PLAY_URL and FLV_URL as shell assignments (for eval)")
	flag.Parse()

	base := strings.TrimRight(f.Server, "/")
	if *rtmpBase == "" {
		u, err := url.Parse(base)
		if err != nil || u.Hostname() == "" {
			log.Fatalf("-server %q is not a URL", f.Server)
		}
		*rtmpBase = "rtmp://" + net.JoinHostPort(u.Hostname(), "1935")
	}
	// Two userSigs, quietly (a nil logf): the output is the commands alone.
	appID, pushSig, err := trtcdclient.Credentials(base, uint32(f.App), f.Key, f.UserSig, f.User, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, playSig, err := trtcdclient.Credentials(base, appID, f.Key, *viewerSig, *viewer, nil)
	if err != nil {
		log.Fatal(err)
	}

	// The stream name: a string room's id goes in ?strroomid= (the roomId
	// part is then ignored). Query names are case-insensitive.
	stream := fmt.Sprintf("%d_%d_%s_main", appID, f.Room, f.User)
	push := url.Values{"usersig": {pushSig}}
	play := url.Values{"userid": {*viewer}, "usersig": {playSig}}
	if f.StrRoom != "" {
		push.Set("strroomid", f.StrRoom)
		play.Set("strroomid", f.StrRoom)
	}
	pushURL := fmt.Sprintf("%s/live/%s?%s", strings.TrimRight(*rtmpBase, "/"), stream, push.Encode())
	rtmpPlayURL := fmt.Sprintf("%s/live/%s?%s", strings.TrimRight(*rtmpBase, "/"), stream, play.Encode())
	flvURL := fmt.Sprintf("%s/live/%s.flv?%s", base, stream, play.Encode())

	if *env {
		fmt.Printf("PUSH_URL=%s\nRTMP_PLAY_URL=%s\nFLV_URL=%s\n", shellQuote(pushURL), shellQuote(rtmpPlayURL), shellQuote(flvURL))
		return
	}
	fmt.Printf(`# push a test pattern (H.264 without B-frames, AAC) as %[1]s:
ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline -bf 0 -g 50 -pix_fmt yuv420p \
  -c:a aac -ar 48000 -ac 2 -b:a 64k -flvflags no_duration_filesize -f flv %[2]s

# what it publishes, as %[3]s over HTTP-FLV:
ffprobe -v error -show_entries stream=codec_type,codec_name,profile,width,height,sample_rate,channels -of compact %[4]s

# watch it, over HTTP-FLV or RTMP:
ffplay -fflags nobuffer %[4]s
ffplay -fflags nobuffer %[5]s
`, f.User, shellQuote(pushURL), *viewer, shellQuote(flvURL), shellQuote(rtmpPlayURL))
}

// shellQuote makes s one shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
