// Package testcluster prepares the nodes of a trtcd cluster for tests that
// run `trtcd serve` once per node.
package testcluster

import (
	"path/filepath"
	"testing"

	"github.com/trtcd/trtcd/cluster"
)

// DataDirs makes a data directory under dir for each node id, in order,
// each holding in its cluster/ the CA certificate and the node's own
// certificate and key, from one CA as `trtcd cluster init` makes it.
func DataDirs(t testing.TB, dir string, ids ...string) []string {
	t.Helper()
	certs := filepath.Join(dir, "certs")
	if err := cluster.InitDir(certs, ids...); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, id := range ids {
		data := filepath.Join(dir, "node-"+id)
		if err := cluster.InstallNode(certs, id, filepath.Join(data, "cluster")); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, data)
	}
	return dirs
}

// ServeFlags are the flags that make `trtcd serve` node id of a cluster on
// redisURL, relaying on a port the system picks.
func ServeFlags(redisURL, id string) []string {
	return []string{"--redis", redisURL, "--node-id", id, "--relay", "127.0.0.1:0"}
}
