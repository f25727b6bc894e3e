package bench

import (
	"context"
	"fmt"
	"net/url"
)

// startRoom starts room i with the clients its kind in the mix says: each
// participant publishes and the other plays it (one publisher when OneWay,
// and always for RTMP). User ids are unique per app (a second login takes
// over), so they carry the room.
func startRoom(ctx context.Context, sc Scenario, i int) ([]*Pair, error) {
	room := fmt.Sprint(100000 + i)
	a, b := "a-"+room, "b-"+room
	sides := [][2]string{{a, b}, {b, a}}
	kind := sc.Mix.KindOf(i)
	if sc.OneWay || kind == KindRTMP {
		sides = sides[:1]
	}
	var ws *wsRoom
	if kind == KindWS {
		ws = newWSRoom(sc.Target, room)
	}
	var out []*Pair
	for _, side := range sides {
		spec := pairSpec{Kind: kind, Room: room, Publisher: side[0], Viewers: viewerNames(side[1], sc.Viewers),
			BitrateKbps: sc.BitrateKbps, FPS: sc.FPS, UplinkLoss: sc.UplinkLoss, raw: sc.raw}
		p, err := startPairOfKind(ctx, sc.Target, spec, ws)
		if p != nil {
			out = append(out, p)
		}
		if err != nil {
			if ws != nil && len(out) == 0 {
				ws.Close()
			}
			return out, fmt.Errorf("room %d (%s): %w", i, kind, err)
		}
		if ws != nil && len(out) == 1 { // the room's members leave with its first pair
			p.closers = append(p.closers, ws.Close)
		}
	}
	return out, nil
}

func startPairOfKind(ctx context.Context, t Target, s pairSpec, ws *wsRoom) (*Pair, error) {
	whep := func(v string) signal {
		vt := t.viewing()
		return whipSignal(vt, vt.endpoint(t.WHEP, defaultWHEP, s.Room, v, s.Publisher), s.Room, v)
	}
	switch s.Kind {
	case KindWS:
		if t.CrossNode() {
			return nil, ErrWSCrossNode
		}
		pub, err := ws.member(ctx, s.Publisher)
		if err != nil {
			return nil, err
		}
		s.Publish = pub.publishSignal()
		s.Play = func(v string) signal {
			return func(ctx context.Context, offer string) (string, error) {
				c, err := ws.member(ctx, v)
				if err != nil {
					return "", err
				}
				return c.subscribeSignal(s.Publisher)(ctx, offer)
			}
		}
		return startMediaPair(ctx, s)
	case KindRTMP:
		s.Play = whep
		return startRTMPPair(ctx, t, s)
	default:
		s.Publish = whipSignal(t, t.endpoint(t.WHIP, defaultWHIP, s.Room, s.Publisher, s.Publisher), s.Room, s.Publisher)
		s.Play = whep
		return startMediaPair(ctx, s)
	}
}

// startMediaPair runs a WebRTC publisher and its viewers on the spec's
// engine.
func startMediaPair(ctx context.Context, s pairSpec) (*Pair, error) {
	if s.raw != nil {
		return startRawPair(ctx, s.raw, s)
	}
	return startWebRTCPair(ctx, s)
}

// startRTMPPair pushes RTMP as the publisher (trtcd's stream id
// {sdkAppId}_{roomId}_{userId}_main) and plays it over WHEP. The uplink is
// TCP, so --loss does not apply to it.
func startRTMPPair(ctx context.Context, t Target, s pairSpec) (*Pair, error) {
	base := t.RTMP
	if base == "" {
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, err
		}
		base = "rtmp://" + u.Hostname() + ":1935"
	}
	sig := ""
	if t.Auth != nil {
		sig, _ = t.Auth(s.Room, s.Publisher)
	}
	push, err := dialRTMP(fmt.Sprintf("%s/live/%d_%s_%s_main?usersig=%s", base, t.App, s.Room, s.Publisher, url.QueryEscape(sig)))
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	p := newPair(s)
	p.closers = append(p.closers, push.Close)
	pctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	started := make(chan struct{})
	src := &rtmpSource{push: push, bitrateKbps: s.BitrateKbps, fps: s.FPS, gop: 2 * s.FPS, started: started}
	failed := make(chan error, 1)
	go func() { failed <- src.Run(pctx) }()
	// Subscribe only once the pusher's tracks carry packets: a WHEP
	// viewer that subscribes between trtcd creating the tracks (at the
	// sequence headers) and their first packet gets no media at all.
	select {
	case <-started:
	case err := <-failed:
		p.Close()
		return nil, fmt.Errorf("publish: %w", err)
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
	if err := p.addViewers(ctx, s); err != nil {
		p.Close()
		select {
		case e := <-failed: // the push's own error says more
			if e != nil {
				err = e
			}
		default:
		}
		return nil, err
	}
	return p, nil
}
