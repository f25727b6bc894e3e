package testways

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/ws"
)

// Classes are classrooms kept in a database in a folder.
type Classes struct {
	*classroom.Classrooms
	DB    *bolt.DB
	store *classroom.Store
	once  sync.Once
}

// ServeClasses, called from Start's configure, serves classrooms kept in
// dir with limits on /ws and the REST API. They are closed when the test
// ends, or by Stop for a test that starts another server on dir (a
// restart).
func (w *Ways) ServeClasses(t testing.TB, dir string, limits classroom.Limits) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "trtcd.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := classroom.OpenStore(db)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	cs, err := classroom.Load(w.Rooms, store, limits)
	if err != nil {
		store.Close()
		db.Close()
		t.Fatal(err)
	}
	w.Classes = &Classes{Classrooms: cs, DB: db, store: store}
	w.WS.Classrooms, w.REST.Classrooms = cs, cs
	t.Cleanup(w.Stop)
}

// Stop closes the HTTP server, then the classes' store and database: the
// folder may be opened again. The rest closes when the test ends.
func (w *Ways) Stop() {
	w.Close()
	if c := w.Classes; c != nil {
		c.once.Do(func() {
			c.store.Close()
			c.DB.Close()
		})
	}
}

// DialWS opens a /ws client.
func (w *Ways) DialWS(t testing.TB) *testws.Client { return testws.Open(t, testws.URL(w.URL)) }

// LoggedIn is a /ws client signed in (login) as user of OpenApp.
func (w *Ways) LoggedIn(t testing.TB, user string) *testws.Client {
	t.Helper()
	c := w.DialWS(t)
	if r := c.Request("login", ws.LoginData{SDKAppID: OpenApp, UserID: user, UserSig: UserSig(OpenApp, user, time.Hour)}); r.Code != 0 {
		t.Fatalf("login %s: %d %s", user, r.Code, r.Message)
	}
	return c
}

// StartClasses serves every way in, /ws with wsLimits, and classrooms
// kept in dir with limits.
func StartClasses(t testing.TB, dir string, wsLimits ws.Limits, limits classroom.Limits) *Ways {
	t.Helper()
	return Start(t, 0, func(w *Ways) {
		w.WS.Limits = wsLimits
		w.ServeClasses(t, dir, limits)
	})
}
