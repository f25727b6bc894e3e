// Command trtcd is a self-hosted, TRTC-compatible media server.
//
//	trtcd serve     run the server
//	trtcd sig       generate and verify userSig / privateMapKey tokens
//	trtcd cluster   create the certificates cluster nodes authenticate with; show the cluster
//	trtcd version   print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the module version recorded by the Go toolchain is used.
var version = ""

const usage = `trtcd — a self-hosted, TRTC-compatible media server

Usage:
  trtcd serve [flags]            run the server (trtcd serve -h for flags)
  trtcd sig gen usersig ...      mint a userSig
  trtcd sig gen privatemapkey ...
  trtcd sig verify usersig ...   check a userSig, print JSON
  trtcd sig verify privatemapkey ...
  trtcd bench [flags]            load-test a server over WHIP/WHEP (trtcd bench -h)
  trtcd cluster init|issue ...   certificates for cluster nodes (trtcd cluster -h)
  trtcd cluster status ...       the cluster's nodes, rooms and publications (--redis URL)
  trtcd version                  print the version
`

// Exit statuses: 0 success (or a valid token), 1 failure (or an invalid
// token), 2 a usage error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// errUsage marks errors caused by the command line itself.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "sig":
		return sig(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "cluster":
		err = clusterCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "trtcd", versionString())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "trtcd: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return exitStatus(err, stderr)
}

func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "trtcd:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "trtcd:", err)
		return exitFail
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// usageErrorf reports a command-line mistake (exit status 2).
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}
