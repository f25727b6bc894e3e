// whip-publish publishes a video and an audio track into a trtcd room over
// WHIP (RFC 9725) with pion: a generated H.264 test pattern and Opus
// silence by default, or an H.264 Annex B file and an Ogg Opus file.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/examples/internal/trtcdclient"
)

func main() {
	// -server, -app, -key, -usersig, -user, -room and -strroom, then this example's own.
	f := trtcdclient.DefineFlags("alice", "the publisher's userId")
	duration := flag.Duration("duration", 0, "publish for this long, then leave (0: until Ctrl-C)")
	videoFile := flag.String("video", "", "H.264 Annex B file to send, looped (default: a generated test pattern)")
	audioFile := flag.String("audio", "", "Ogg Opus file to send, looped (default: silence)")
	fps := flag.Int("fps", 25, "frames per second of the test pattern or of the -video file")
	size := flag.String("size", "320x240", "test pattern size, WIDTHxHEIGHT (multiples of 16)")
	flag.Parse()
	if *fps < 1 || *fps > 60 {
		log.Fatal("-fps: 1 to 60")
	}

	appID, sig, err := f.Credentials()
	if err != nil {
		log.Fatal(err)
	}

	// Open the inputs first, so a bad path fails before anything connects.
	var video frameSource
	if *videoFile != "" {
		if video, err = newH264File(*videoFile, *fps); err != nil {
			log.Fatal(err)
		}
	} else {
		var w, h int
		if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < 16 || h < 16 || w > 1920 || h > 1088 {
			log.Fatalf("-size %q: want WIDTHxHEIGHT, 16x16 to 1920x1088", *size)
		}
		video = &patternSource{p: newPattern(w, h), fps: *fps}
	}
	var audio frameSource = silence{}
	if *audioFile != "" {
		if audio, err = newOggFile(*audioFile); err != nil {
			log.Fatal(err)
		}
	}

	pc, err := trtcdclient.NewPeerConnection() // loopback only
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()

	videoTrack, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", f.User)
	if err != nil {
		log.Fatal(err)
	}
	audioTrack, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", f.User)
	if err != nil {
		log.Fatal(err)
	}
	var keyframeWanted atomic.Bool
	for _, t := range []webrtc.TrackLocal{videoTrack, audioTrack} {
		tx, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			log.Fatal(err)
		}
		// Read RTCP: the interceptors need it read, and the server asks
		// for a keyframe (PLI) when a viewer starts watching.
		go func(s *webrtc.RTPSender) {
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						keyframeWanted.Store(true)
					}
				}
			}
		}(tx.Sender())
	}

	connected, ended := trtcdclient.WatchState(pc)

	// WHIP does not trickle: the offer carries every candidate.
	offer, err := trtcdclient.GatherOffer(pc)
	if err != nil {
		log.Fatal(err)
	}
	endpoint := fmt.Sprintf("%s/whip/%d/%d/%s", strings.TrimRight(f.Server, "/"), appID, f.Room, url.PathEscape(f.User))
	if f.StrRoom != "" {
		endpoint += "?strRoomId=" + url.QueryEscape(f.StrRoom)
	}
	session, err := trtcdclient.PostOffer(endpoint, sig, offer)
	if err != nil {
		log.Fatalf("WHIP %s: %v", endpoint, err)
	}
	log.Printf("WHIP %s: 201 Created, session %s", endpoint, session.URL)
	defer session.Leave()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: session.Answer}); err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		ctx, stop = context.WithTimeout(ctx, *duration)
		defer stop()
	}
	select {
	case <-connected:
	case <-ended:
		log.Print("the connection failed")
		return
	case <-ctx.Done():
		return
	case <-time.After(15 * time.Second):
		log.Print("not connected after 15 s")
		return
	}

	var frames, keyframes, audioFrames atomic.Int64
	go send(ctx, audioTrack, audio, nil, &audioFrames, nil)
	go send(ctx, videoTrack, video, &keyframeWanted, &frames, &keyframes)
	watch := fmt.Sprintf("go run ./examples/whep-play -publisher %s%s", f.User, f.RoomArgs())
	if f.Key != "" || f.UserSig != "" {
		watch += fmt.Sprintf(" -app %d -key KEY", appID)
	}
	log.Printf("publishing %s as %q in room %s; watch it with: %s", video, f.User, f.RoomName(), watch)

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Printf("leaving: sent %d video frames (%d keyframes), %d audio frames", frames.Load(), keyframes.Load(), audioFrames.Load())
			return
		case <-ended:
			log.Print("the server ended the session (kicked, room closed, or replaced by a new publish as the same user)")
			session.Gone()
			return
		case <-tick.C:
			log.Printf("sent %d video frames (%d keyframes), %d audio frames", frames.Load(), keyframes.Load(), audioFrames.Load())
		}
	}
}
