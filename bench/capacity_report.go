package bench

import (
	"fmt"
	"html/template"
	"io"
	"text/tabwriter"
)

// WriteTable prints the search for a person: every level, then the knee.
func (c *Capacity) WriteTable(w io.Writer) {
	if c.ViewTarget != "" {
		fmt.Fprintf(w, "cross-node: viewers on %s, every packet relayed; server CPU is both nodes'\n", c.ViewTarget)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rooms\tloss\tp99 latency\tserver CPU\tforwarded/s (%s)\tforwarded/s per core\tUDP buffer drops (server's)\tserver waited for a CPU\theld\ttries\n", c.countedBy())
	for _, s := range c.Steps {
		fmt.Fprintf(tw, "%d\t%.3f %%\t%.1f ms\t%s\t%.0f\t%s\t%d (%s)\t%s\t%v\t%d\n", s.Rooms, 100*s.LossRatio, s.LatencyP99Ms,
			coresText(s.ServerCores), s.ForwardedPerSecond, perCoreText(s.ForwardedPerCore), s.UDPBufferDrops, dropsText(s.ServerUDPDrops),
			waitText(s.ServerRunQueueWait), s.Held, s.Tries)
	}
	tw.Flush()
	fmt.Fprintf(w, "limits: loss ≤ %.2f %%, p99 ≤ %.0f ms\n", 100*c.MaxLossRatio, c.MaxLatencyP99Ms)
	if k := c.Knee; k != nil {
		fmt.Fprintf(w, "knee: %d rooms, %.0f forwarded packets/s, server %s, %s forwarded packets/s per server core\n",
			k.Rooms, k.ForwardedPerSecond, coresText(k.ServerCores), perCoreText(k.ForwardedPerCore))
	}
	fmt.Fprintf(w, "capacity: %d rooms held the limits (the load generator used %.2f cores of the same machine)\n", c.Rooms, c.GeneratorCores)
}

func (c *Capacity) countedBy() string {
	if c.ForwardedCountedBy == "" {
		return countedByViewers
	}
	return c.ForwardedCountedBy
}

func coresText(cores float64) string {
	if cores < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f cores", cores)
}

func dropsText(drops int64) string {
	if drops < 0 {
		return "n/a"
	}
	return fmt.Sprint(drops)
}

func waitText(secondsPerSecond float64) string {
	if secondsPerSecond < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms/s", 1000*secondsPerSecond)
}

func perCoreText(perCore float64) string {
	if perCore <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", perCore)
}

// WriteHTML writes a self-contained page of the search: the knee, and the
// server's CPU, p99 latency and loss against the load of each level (the
// packets forwarded per second, its rooms under the axis), the knee marked
// on each and the limits drawn across the last two.
func (c *Capacity) WriteHTML(w io.Writer) error {
	n := len(c.Steps)
	load, rooms := make([]float64, n), make([]string, n)
	cpu, p99, loss := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, s := range c.Steps {
		load[i], rooms[i] = s.ForwardedPerSecond, fmt.Sprint(s.Rooms)
		cpu[i], p99[i], loss[i] = s.ServerCores, s.LatencyP99Ms, 100*s.LossRatio
	}
	axes := func(title string, limit float64) chartAxes {
		a := chartAxes{x: "forwarded packets/s", title: title, limit: limit, labels: rooms, labelsTitle: "rooms"}
		if k := c.Knee; k != nil {
			a.markX, a.markLabel = k.ForwardedPerSecond, fmt.Sprintf("knee: %d rooms", k.Rooms)
		}
		return a
	}
	return capacityPage.Execute(w, map[string]any{
		"C":         c,
		"CountedBy": c.countedBy(),
		"CPU":       plot(load, cpu, axes("server CPU (cores)", 0)),
		"P99":       plot(load, p99, axes("p99 latency (ms)", c.MaxLatencyP99Ms)),
		"Loss":      plot(load, loss, axes("loss (%)", 100*c.MaxLossRatio)),
	})
}

var capacityPage = template.Must(template.New("capacity").Funcs(template.FuncMap{
	"mul100":  func(v float64) float64 { return 100 * v },
	"cores":   coresText,
	"perCore": perCoreText,
	"drops":   dropsText,
	"wait":    waitText,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trtcd bench — capacity</title>` + pageStyle + `</head><body>
<h1>trtcd bench: capacity</h1>
<p class="muted">{{with .C.ViewTarget}}viewers on {{.}} (cross-node) · {{end}}limits: loss ≤ {{printf "%.2f" (mul100 .C.MaxLossRatio)}} %, p99 ≤ {{printf "%.0f" .C.MaxLatencyP99Ms}} ms · forwarded packets counted by the {{.CountedBy}} · the load generator used {{printf "%.2f" .C.GeneratorCores}} cores of the same machine</p>
{{with .C.Knee}}<div class="grid">
<div class="card">Rooms at the knee<b>{{.Rooms}}</b></div>
<div class="card">Forwarded packets/s<b>{{printf "%.0f" .ForwardedPerSecond}}</b></div>
<div class="card">Server CPU<b>{{cores .ServerCores}}</b></div>
<div class="card">Forwarded packets/s per core<b>{{perCore .ForwardedPerCore}}</b></div>
</div>{{else}}<p>No level held the limits.</p>{{end}}
<div class="charts">
<div><h3>Server CPU against load</h3>{{.CPU}}</div>
<div><h3>p99 latency against load</h3>{{.P99}}</div>
<div><h3>Loss against load</h3>{{.Loss}}</div>
<div><h3>Levels</h3><table>
<tr><td>rooms</td><td>forwarded/s</td><td>per core</td><td>server's socket drops</td><td>server waited for a CPU</td><td>held</td></tr>
{{range .C.Steps}}<tr><td>{{.Rooms}}</td><td>{{printf "%.0f" .ForwardedPerSecond}}</td><td>{{perCore .ForwardedPerCore}}</td><td>{{drops .ServerUDPDrops}}</td><td>{{wait .ServerRunQueueWait}}</td><td>{{.Held}}</td></tr>
{{end}}</table></div>
</div></body></html>`))
