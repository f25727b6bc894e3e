package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/web"
)

// shutdownGrace is how long requests in flight get to finish after
// SIGINT/SIGTERM.
const shutdownGrace = 10 * time.Second

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trtcd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(&f, os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	var dev *appConfig
	devCreated := false
	if len(cfg.Apps) == 0 {
		if err := cfg.devAllowed(); err != nil {
			return err
		}
		app, created, err := loadOrCreateDevApp(cfg.Data)
		if err != nil {
			return fmt.Errorf("development app: %w", err)
		}
		cfg.Apps, dev, devCreated = []appConfig{app}, &app, created
	}
	apps, err := buildApps(cfg.Apps)
	if err != nil {
		return err
	}
	bitrate, err := cfg.Bitrate.limits()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}

	clusterCfg, err := clusterOf(cfg.Cluster)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(server.Config{
		HTTPAddr:  cfg.HTTP,
		HTTPSAddr: cfg.HTTPS,
		TLSCert:   cfg.TLSCert,
		TLSKey:    cfg.TLSKey,
		DataDir:   cfg.Data,
		Apps:      apps,
		Media: sfu.TransportConfig{
			UDPAddr:      cfg.UDP,
			TCPAddr:      cfg.ICETCP,
			PublicIPs:    cfg.PublicIP,
			LoopbackOnly: cfg.loopbackOnly(),
			SlowPath:     f.slowPath,
			Workers:      cfg.MediaWorkers,
			STUN:         cfg.Limits.STUN.gate("stun"),
		},
		RTMPAddr:    cfg.RTMP,
		Opus:        cfg.Opus,
		ClassLimits: cfg.Classes.limits(),
		Record: server.RecordConfig{CallbackURL: cfg.Record.CallbackURL, CallbackKey: cfg.Record.CallbackKey,
			ResumeWindow: cfg.Record.ResumeWindow, KeepOpus: cfg.Record.KeepOpus, PublicURL: cfg.Record.PublicURL,
			MinFreeBytes: cfg.Record.MinFreeBytes},
		Bitrate:          bitrate,
		RoomCapacity:     cfg.Rooms.Capacity,
		HeartbeatTimeout: cfg.Rooms.HeartbeatTimeout,
		WSLimits:         cfg.WS.limits(),
		Limits:           cfg.Limits.server(),
		Pprof:            f.pprof,
		Cluster:          clusterCfg,
		DevApp:           devApp(dev, cfg.Dev),
		Version:          versionString(),
		Logger:           log,
	})
	if err != nil {
		return err
	}
	if dev != nil {
		printDevApp(stdout, *dev, filepath.Join(cfg.Data, devAppFile), devCreated, srv.HTTPAddr().String())
	}
	<-ctx.Done()
	stop() // a second signal kills at once

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func devApp(a *appConfig, anywhere bool) *web.DevApp {
	if a == nil {
		return nil
	}
	return &web.DevApp{SDKAppID: a.SDKAppID, Key: a.Key, Admins: append([]string{trtc.DefaultAdmin}, a.Admins...), Anywhere: anywhere}
}

func buildApps(list []appConfig) (*trtc.Apps, error) {
	apps := make([]trtc.App, len(list))
	for i, a := range list {
		apps[i] = trtc.App{SDKAppID: a.SDKAppID, Key: a.Key, RequirePrivateMapKey: a.RequirePrivateMapKey, Admins: a.Admins}
	}
	r, err := trtc.NewApps(apps...)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return r, nil
}

// usageError turns a flag parsing error into a usage error; -h stays help.
func usageError(err error) error {
	if err == flag.ErrHelp {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
