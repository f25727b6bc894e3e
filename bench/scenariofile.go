package bench

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ReadScenarioFile reads a YAML scenario: a mapping from `trtcd bench`
// flag names to values, so a file says exactly what a command line says:
//
//	rooms: 50
//	ramp: 5
//	duration: 30s
//	one_way: true      # or one-way
//	loss: 0.02
//	mix: {whip: 2, ws: 1, rtmp: 1}   # or "whip=2,ws=1,rtmp=1"
//
// It returns each value as the flag's text, keyed by the flag name with
// hyphens; which names exist is the caller's to check.
func ReadScenarioFile(r io.Reader) (map[string]string, error) {
	var doc map[string]yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if err == io.EOF {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	out := map[string]string{}
	for key, node := range doc {
		name := strings.ReplaceAll(key, "_", "-")
		switch node.Kind {
		case yaml.ScalarNode:
			out[name] = node.Value
		case yaml.MappingNode: // mix: {whip: 2, ws: 1}
			var m map[string]string
			if err := node.Decode(&m); err != nil {
				return nil, fmt.Errorf("scenario file: %s: %w", key, err)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + m[k]
			}
			out[name] = strings.Join(parts, ",")
		default:
			return nil, fmt.Errorf("scenario file: %s (line %d): want a value or a mapping", key, node.Line)
		}
	}
	return out, nil
}

// ApplyScenarioFile sets each flag of fs that the file at path names,
// unless the command line gave it: flags given explicitly win. A name that
// is not a flag of fs, or is skip (the flag naming the file), is an error.
func ApplyScenarioFile(fs *flag.FlagSet, path, skip string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	values, err := ReadScenarioFile(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names) // the same file fails on the same line every time
	for _, name := range names {
		if fs.Lookup(name) == nil || name == skip {
			return fmt.Errorf("%s: %q is not a bench option", path, name)
		}
		if given[name] {
			continue
		}
		if err := fs.Set(name, values[name]); err != nil {
			return fmt.Errorf("%s: %s: %w", path, name, err)
		}
	}
	return nil
}
