package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileConfig is the YAML configuration file. Every field is optional; the
// environment (TRTCD_*) and flags override it, in that order.
type fileConfig struct {
	HTTP     string      `yaml:"http"`
	Data     string      `yaml:"data"`
	LogLevel string      `yaml:"log_level"`
	Apps     []appConfig `yaml:"apps"`
}

type appConfig struct {
	SDKAppID             uint32 `yaml:"sdkappid" json:"sdkappid"`
	Key                  string `yaml:"key" json:"key"`
	RequirePrivateMapKey bool   `yaml:"require_private_map_key" json:"require_private_map_key,omitempty"`
}

// The embedded defaults: loopback only, data next to where trtcd runs.
const (
	defaultHTTP = "127.0.0.1:8080"
	defaultData = "trtcd-data"
)

// serveConfig is the merged result.
type serveConfig struct {
	HTTP     string
	Data     string
	LogLevel slog.Level
	Apps     []appConfig // later entries replace earlier ones with the same id
}

// serveFlags are the flags of `trtcd serve`; empty means "not given".
type serveFlags struct {
	config     string
	http       string
	data       string
	logLevel   string
	apps       appList
	requirePMK bool
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML configuration file (also $TRTCD_CONFIG)")
	fs.StringVar(&f.http, "http", "", "HTTP listen address (default "+defaultHTTP+"; $TRTCD_HTTP)")
	fs.StringVar(&f.data, "data", "", "data directory (default ./"+defaultData+"; $TRTCD_DATA)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default info; $TRTCD_LOG_LEVEL)")
	fs.Var(&f.apps, "app", "add an application as SDKAPPID:SECRETKEY (repeatable; $TRTCD_APPS takes a comma-separated list)")
	fs.BoolVar(&f.requirePMK, "require-private-map-key", false,
		"make privateMapKey mandatory for the apps given by --app ($TRTCD_REQUIRE_PRIVATE_MAP_KEY does so for $TRTCD_APPS)")
}

// appList is a repeatable SDKAPPID:SECRETKEY flag.
type appList []appConfig

func (l *appList) String() string { return fmt.Sprintf("%d apps", len(*l)) }

func (l *appList) Set(v string) error {
	a, err := parseApp(v)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

func parseApp(v string) (appConfig, error) {
	id, key, ok := strings.Cut(strings.TrimSpace(v), ":")
	n, err := strconv.ParseUint(id, 10, 32)
	if !ok || err != nil || n == 0 || key == "" {
		// Never echo v: it holds the secret key.
		return appConfig{}, fmt.Errorf("want SDKAPPID:SECRETKEY with a numeric sdkAppId")
	}
	return appConfig{SDKAppID: uint32(n), Key: key}, nil
}

// loadConfig merges the embedded defaults, the YAML file, the environment
// and the flags, each overriding the one before.
func loadConfig(f *serveFlags, getenv func(string) string) (*serveConfig, error) {
	c := &serveConfig{HTTP: defaultHTTP, Data: defaultData}
	level := "info"
	path := f.config
	if path == "" {
		path = getenv("TRTCD_CONFIG")
	}
	if path != "" {
		fc, err := readConfigFile(path)
		if err != nil {
			return nil, err
		}
		override(&c.HTTP, fc.HTTP)
		override(&c.Data, fc.Data)
		override(&level, fc.LogLevel)
		c.Apps = append(c.Apps, fc.Apps...)
	}

	override(&c.HTTP, getenv("TRTCD_HTTP"))
	override(&c.Data, getenv("TRTCD_DATA"))
	override(&level, getenv("TRTCD_LOG_LEVEL"))
	envApps, err := parseEnvApps(getenv)
	if err != nil {
		return nil, err
	}
	c.Apps = append(c.Apps, envApps...)

	override(&c.HTTP, f.http)
	override(&c.Data, f.data)
	override(&level, f.logLevel)
	for _, a := range f.apps {
		a.RequirePrivateMapKey = f.requirePMK
		c.Apps = append(c.Apps, a)
	}

	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	c.Apps = dedupeApps(c.Apps)
	return c, nil
}

func readConfigFile(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)                                              // a misspelt key is an error, not a silent default
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &fc, nil
}

func parseEnvApps(getenv func(string) string) ([]appConfig, error) {
	list := getenv("TRTCD_APPS")
	if list == "" {
		return nil, nil
	}
	require, err := parseBoolEnv(getenv, "TRTCD_REQUIRE_PRIVATE_MAP_KEY")
	if err != nil {
		return nil, err
	}
	var apps []appConfig
	for i, item := range strings.Split(list, ",") {
		a, err := parseApp(item)
		if err != nil {
			return nil, fmt.Errorf("TRTCD_APPS item %d: %w", i+1, err)
		}
		a.RequirePrivateMapKey = require
		apps = append(apps, a)
	}
	return apps, nil
}

func parseBoolEnv(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

func override(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// dedupeApps keeps the last definition of each sdkAppId, so a flag or
// variable overrides the file for the same app.
func dedupeApps(apps []appConfig) []appConfig {
	last := map[uint32]int{}
	for i, a := range apps {
		last[a.SDKAppID] = i
	}
	var out []appConfig
	for i, a := range apps {
		if last[a.SDKAppID] == i {
			out = append(out, a)
		}
	}
	return out
}
