// Command stockpion is the comparison server for trtcd's benchmarks: the
// forwarding loop of pion's whip-whep example (ReadRTP into
// TrackLocalStaticRTP.WriteRTP, pion's default interceptors), extended to
// rooms so the same load drives both servers. It has no authentication and
// listens on loopback only. Not for production.
//
//	stockpion -http 127.0.0.1:0
//	POST /whip/{app}/{room}/{user}            publish
//	POST /whep/{app}/{room}/{publisher}       play
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

func main() {
	addr := flag.String("http", "127.0.0.1:0", "HTTP listen address")
	flag.Parse()
	api, err := newAPI()
	if err != nil {
		log.Fatal(err)
	}
	s := &server{api: api, tracks: map[string][]*webrtc.TrackLocalStaticRTP{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{app}/{room}/{user}", s.publish)
	mux.HandleFunc("POST /whep/{app}/{room}/{publisher}", s.play)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}

// newAPI: pion's defaults (codecs, interceptors), on loopback only.
func newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

type server struct {
	api    *webrtc.API
	mu     sync.Mutex
	tracks map[string][]*webrtc.TrackLocalStaticRTP // room/user → local tracks
}

func (s *server) publish(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("room") + "/" + r.PathValue("user")
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), "stock")
		if err != nil {
			return
		}
		s.mu.Lock()
		s.tracks[key] = append(s.tracks[key], local)
		s.mu.Unlock()
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			if err := local.WriteRTP(pkt); err != nil {
				return
			}
		}
	})
	s.answer(w, r, pc)
}

func (s *server) play(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tracks := s.tracks[r.PathValue("room")+"/"+r.PathValue("publisher")]
	s.mu.Unlock()
	if len(tracks) == 0 {
		http.Error(w, "not publishing", http.StatusNotFound)
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	for _, t := range tracks {
		sender, err := pc.AddTrack(t)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		go func() { // RTCP must be read for the interceptors to work
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	s.answer(w, r, pc)
}

func (s *server) answer(w http.ResponseWriter, r *http.Request, pc *webrtc.PeerConnection) {
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)})
	}
	var answer webrtc.SessionDescription
	if err == nil {
		answer, err = pc.CreateAnswer(nil)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		pc.Close()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	<-gathered
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			pc.Close()
		}
	})
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/session")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pc.LocalDescription().SDP)
}
