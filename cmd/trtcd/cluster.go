package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/server"
)

const clusterUsage = `Usage:
  trtcd cluster init --dir DIR --nodes a,b,c   create the cluster CA in DIR and a certificate for each node
  trtcd cluster issue --dir DIR --node d       issue one more node's certificate from the CA in DIR

DIR then holds ca.pem and ca-key.pem (the CA: keep ca-key.pem off the nodes), and NODE.pem and NODE-key.pem per
node. Give each node ca.pem and its own two files in its cluster directory (cluster.certs, default DATA/cluster).
`

func clusterCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" && args[0] != "issue" {
		fmt.Fprint(stderr, clusterUsage)
		return usageErrorf("trtcd cluster: init or issue")
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
