package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseEnvApps reads the apps of TRTCD_APPS (id:key,…), all requiring a
// privateMapKey when TRTCD_REQUIRE_PRIVATE_MAP_KEY is true.
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

// parseBoolEnv reads a boolean variable ("" is false).
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
