package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/server"
)

const clusterUsage = `Usage:
  trtcd cluster init --dir DIR --nodes a,b,c   create the cluster CA in DIR and a certificate for each node
  trtcd cluster issue --dir DIR --node d       issue one more node's certificate from the CA in DIR
  trtcd cluster status --redis URL             list the live nodes and the rooms, with who publishes where

DIR then holds ca.pem and ca-key.pem (the CA: keep ca-key.pem off the nodes), and NODE.pem and NODE-key.pem per
node. Give each node ca.pem and its own two files in its cluster directory (cluster.certs, default DATA/cluster).
status reads the cluster's Redis directory (--redis, default $TRTCD_REDIS) and exits 1 when Redis does not answer.
`

func clusterCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "status" {
		return clusterStatus(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "init" && args[0] != "issue" {
		fmt.Fprint(stderr, clusterUsage)
		return usageErrorf("trtcd cluster: init, issue or status")
	}
	fs := flag.NewFlagSet("trtcd cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, clusterUsage) }
	dir := fs.String("dir", "", "the cluster directory")
	nodes := fs.String("nodes", "", "comma-separated node ids (init)")
	node := fs.String("node", "", "the node id (issue)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf("trtcd cluster %s: --dir is required", args[0])
	}
	if args[0] == "issue" {
		if *node == "" {
			return usageErrorf("trtcd cluster issue: --node is required")
		}
		if err := cluster.IssueFiles(*dir, *node); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "issued %s's certificate in %s\n", *node, *dir)
		return nil
	}
	var ids []string
	for _, id := range strings.Split(*nodes, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if err := cluster.InitDir(*dir, ids...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created the cluster CA in %s with certificates for %s\n", *dir, strings.Join(ids, ", "))
	return nil
}

// statusTimeout bounds the whole status read: the directory is a few
// hundred keys, read in milliseconds; a Redis that does not answer in 5 s
// is reported as down.
const statusTimeout = 5 * time.Second

// clusterStatus prints what the cluster's directory holds.
func clusterStatus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trtcd cluster status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, clusterUsage) }
	redisURL := fs.String("redis", os.Getenv("TRTCD_REDIS"), "Redis URL of the cluster's directory, e.g. redis://127.0.0.1:6379/0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("trtcd cluster status: unexpected argument %q", fs.Arg(0))
	}
	if *redisURL == "" {
		return usageErrorf("trtcd cluster status: --redis is required (or $TRTCD_REDIS)")
	}
	dir, err := cluster.NewDirectory(*redisURL, time.Second) // the TTL matters to writers only
	if err != nil {
		return usageErrorf("trtcd cluster status: %v", err)
	}
	defer dir.Close()
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	st, err := dir.Status(ctx)
	if errors.Is(err, cluster.ErrNoDirectory) {
		return fmt.Errorf("cluster status: Redis at %s does not answer (%w)", redactURL(*redisURL), err)
	}
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	return st.WriteText(stdout)
}

// redactURL hides a Redis password in messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the given URL"
	}
	return u.Redacted()
}

// clusterOf is the server's cluster configuration, with this node's
// certificates loaded when it joins a cluster.
func clusterOf(c clusterConfig) (server.ClusterConfig, error) {
	sc := server.ClusterConfig{RedisURL: c.Redis, NodeID: c.NodeID, RelayAddr: c.Relay}
	if c.Redis == "" {
		return sc, nil
	}
	creds, err := cluster.LoadCredentials(c.Certs, c.NodeID)
	if err != nil {
		return sc, err
	}
	sc.Credentials = creds
	return sc, nil
}
