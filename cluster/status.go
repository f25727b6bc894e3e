package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

// The operator's view: what the directory holds, at one moment, for
// `trtcd cluster status`.

// Status is the cluster as the directory shows it.
type Status struct {
	At    time.Time
	Nodes []NodeInfo   // live nodes, by id
	Rooms []RoomStatus // rooms with live nodes or publications, by key
}

// RoomStatus is one room: the nodes with members in it and what is
// published there, on every node.
type RoomStatus struct {
	Key          string
	Nodes        []string
	Publications []Publication
}

// Status reads the whole directory. Rooms come from two places: the rooms
// with publications (the "rooms" set) and every room:{key}:nodes set, so a
// room whose members only watch still shows up. The scan visits every key
// in the Redis database, which is fine for an operator's command, not for
// a hot path.
func (d *Directory) Status(ctx context.Context) (Status, error) {
	st := Status{At: time.Now()}
	nodes, err := d.Nodes(ctx)
	if err != nil {
		return st, err
	}
	slices.SortFunc(nodes, func(a, b NodeInfo) int { return cmp.Compare(a.ID, b.ID) })
	st.Nodes = nodes

	keys, err := d.Rooms(ctx)
	if err != nil {
		return st, err
	}
	withNodes, err := d.roomsWithNodes(ctx)
	if err != nil {
		return st, err
	}
	keys = append(keys, withNodes...)
	slices.Sort(keys)
	for _, key := range slices.Compact(keys) {
		r := RoomStatus{Key: key}
		if r.Nodes, err = d.RoomNodes(ctx, key); err != nil {
			return st, err
		}
		if r.Publications, err = d.Publications(ctx, key); err != nil {
			return st, err
		}
		if len(r.Nodes) == 0 && len(r.Publications) == 0 {
			continue // expired since it was listed
		}
		slices.Sort(r.Nodes)
		slices.SortFunc(r.Publications, func(a, b Publication) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Node, b.Node))
		})
		st.Rooms = append(st.Rooms, r)
	}
	return st, nil
}

// roomsWithNodes lists the keys of the rooms that have a room:{key}:nodes
// set (live members or not: the caller reads them).
func (d *Directory) roomsWithNodes(ctx context.Context) ([]string, error) {
	prefix, suffix := d.key("room", ""), ":nodes"
	var out []string
	it := d.rdb.Scan(ctx, 0, escapeGlob(prefix)+"*"+suffix, 200).Iterator()
	for it.Next(ctx) {
		k := it.Val()
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) && len(k) > len(prefix)+len(suffix) {
			out = append(out, k[len(prefix):len(k)-len(suffix)])
		}
	}
	if err := it.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	return out, nil
}

// escapeGlob quotes the characters Redis's MATCH patterns treat specially.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WriteText prints the status as two tables, nodes then rooms, for a
// terminal.
func (s Status) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "NODES (%d)\n", len(s.Nodes))
	if len(s.Nodes) > 0 {
		fmt.Fprintln(tw, "ID\tRELAY\tHTTP\tMEDIA\tHEARTBEAT\tROOMS\tSTREAMS\tCPU\tMBIT/S")
	}
	for _, n := range s.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.1f\n", n.ID, n.Relay, orDash(n.HTTP), orDash(n.Media),
			heartbeatAge(s.At, n.Updated), n.Rooms, n.Streams, n.CPU, float64(n.Bitrate)/1e6)
	}
	fmt.Fprintf(tw, "\nROOMS (%d)\n", len(s.Rooms))
	if len(s.Rooms) > 0 {
		fmt.Fprintln(tw, "ROOM\tNODES\tPUBLICATIONS")
	}
	for _, r := range s.Rooms {
		pubs := make([]string, len(r.Publications))
		for i, p := range r.Publications {
			pubs[i] = p.User + " " + p.Kind + "@" + p.Node
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Key, orDash(strings.Join(r.Nodes, ",")), orDash(strings.Join(pubs, ", ")))
	}
	return tw.Flush()
}

// heartbeatAge is how long before at the node last renewed its record.
func heartbeatAge(at time.Time, updated int64) string {
	if updated == 0 {
		return "-"
	}
	age := max(at.Sub(time.UnixMilli(updated)), 0)
	return age.Round(100*time.Millisecond).String() + " ago"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
