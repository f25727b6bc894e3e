package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// signal sends an SDP offer to the server and returns its answer: a WHIP
// or WHEP request, or a publish or subscribe over the /ws signalling.
type signal func(ctx context.Context, offer string) (answer string, err error)

// whipSignal posts offers to a WHIP or WHEP endpoint as user of room.
func whipSignal(t Target, endpoint, room, user string) signal {
	return func(ctx context.Context, offer string) (string, error) {
		token, url := "", endpoint
		if t.Auth != nil {
			var query string
			token, query = t.Auth(room, user)
			if query != "" {
				sep := "?"
				if strings.Contains(url, "?") {
					sep = "&"
				}
				url += sep + query
			}
		}
		req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(offer))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/sdp")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return string(body), nil
	}
}
