package e2e

import (
	"testing"

	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
)

// (c) TAvKit's onErrorListener with the seed's module and code for each
// failure a test can cause (miniprogram/test/tavkit_errors.js lists them):
// missing start() options, the room signature refused on an app that
// requires a privateMapKey, devices and permissions that fail, a request
// with no answer, a full 1v1 call and the network to trtcd cut.
func TestMiniProgramTAvKitErrors(t *testing.T) {
	srv := startTrtcdWith(t, func(c *server.Config) {
		apps, err := trtc.NewApps(trtc.App{SDKAppID: app, Key: appKey, RequirePrivateMapKey: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Apps = apps
	})
	mp := startMiniprogramVia(t, srv, appKey, linkTo(t, srv.HTTPAddr(), srv.RTMPAddr()))
	mp.start(t, "tavkit_errors.js").wait(t)
}
