package record

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// The files API's side of the recorder: signed, expiring download URLs
// and listing, opening and deleting the final files.

// loadOrCreateKey keeps the secret that signs download URLs, so they stay
// valid across restarts.
func loadOrCreateKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return b, nil
}

// DownloadURL is a signed, expiring URL for a final file.
func (r *Recorder) DownloadURL(f *File) string {
	expires := time.Now().Add(r.cfg.DownloadTTL).Unix()
	return fmt.Sprintf("%s/v1/record/download/%s?expires=%d&sign=%s", r.cfg.PublicURL, f.ID, expires, r.sign(f.ID, expires))
}

func (r *Recorder) sign(id string, expires int64) string {
	m := hmac.New(sha256.New, r.urlKey)
	fmt.Fprintf(m, "%s|%d", id, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyDownload checks a signed download URL's expires and sign.
func (r *Recorder) VerifyDownload(id, expires, sign string, now time.Time) bool {
	t, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || now.Unix() > t {
		return false
	}
	return hmac.Equal([]byte(sign), []byte(r.sign(id, t)))
}

// Files lists indexed files that match keep.
func (r *Recorder) Files(keep func(*File) bool) ([]*File, error) { return r.cfg.Store.Files(keep) }

// Open opens a final file for download.
func (r *Recorder) Open(id string) (*File, *os.File, error) {
	f, err := r.cfg.Store.Get(id)
	if err != nil {
		return nil, nil, err
	}
	if f.State != StateDone {
		return nil, nil, fmt.Errorf("record: file %s is %s", id, f.State)
	}
	file, err := os.Open(r.path(f.Name))
	return f, file, err
}

// Delete removes a final file and its entry.
func (r *Recorder) Delete(id string) error {
	f, err := r.cfg.Store.Get(id)
	if err != nil {
		return err
	}
	if f.State == StateRecording || f.State == StateFinalizing {
		return fmt.Errorf("record: file %s is still being recorded", id)
	}
	if f.Name != "" {
		if err := os.Remove(r.path(f.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return r.cfg.Store.Delete(id)
}
