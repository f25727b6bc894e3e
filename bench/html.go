package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
)

// WriteHTML writes a self-contained report page: the figures, the latency
// distribution, and server CPU and loss against the number of rooms as the
// load ramped up and held.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, map[string]any{
		"R":       r,
		"Latency": barChart([]string{"p50", "p95", "p99", "max"}, []float64{r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.LatencyMs.Max}, "ms"),
		"CPU":     lineChart(r.Timeline, func(p Progress) float64 { return p.ServerCPU }, "server CPU (cores)"),
		"Loss":    lineChart(r.Timeline, func(p Progress) float64 { return 100 * p.LossRatio }, "loss (%)"),
	})
}

const chartW, chartH, pad = 560.0, 220.0, 40.0

// barChart draws labelled bars as inline SVG.
func barChart(labels []string, values []float64, unit string) template.HTML {
	top := niceMax(values)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="chart">`, chartW, chartH)
	slot := (chartW - 2*pad) / float64(len(values))
	for i, v := range values {
		h := (chartH - 2*pad) * safe(v) / top
		x := pad + float64(i)*slot + slot*0.2
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"/>`, x, chartH-pad-h, slot*0.6, h)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="label">%s</text>`, x+slot*0.3, chartH-pad+16, labels[i])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="value">%.1f %s</text>`, x+slot*0.3, chartH-pad-h-6, v, unit)
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/></svg>`, pad, chartH-pad, chartW-pad, chartH-pad)
	return template.HTML(b.String())
}

// lineChart draws a value of the timeline against rooms up.
func lineChart(timeline []Progress, value func(Progress) float64, title string) template.HTML {
	xs, ys := make([]float64, len(timeline)), make([]float64, len(timeline))
	for i, p := range timeline {
		xs[i], ys[i] = float64(p.RoomsUp), value(p)
	}
	return plot(xs, ys, chartAxes{x: "rooms up", title: title})
}

// chartAxes name a plot's axes; limit > 0 draws a dashed line across at
// that value (the most a capacity level may reach). labels, when given,
// name the points (xs[i]) in a row under the x axis, titled labelsTitle;
// markLabel != "" draws a dashed line up at markX, labelled.
type chartAxes struct {
	x, title    string
	limit       float64
	labels      []string
	labelsTitle string
	markX       float64
	markLabel   string
}

// plot draws ys against xs as inline SVG, a line through dots; a
// negative y (not measured) is left out.
func plot(xs, ys []float64, axes chartAxes) template.HTML {
	var px, py []float64
	var labels []string
	for i := range xs {
		if ys[i] >= 0 {
			px, py = append(px, xs[i]), append(py, ys[i])
			if i < len(axes.labels) {
				labels = append(labels, axes.labels[i])
			}
		}
	}
	if len(px) == 0 {
		return template.HTML(`<p class="muted">Not measured (give --server-pid).</p>`)
	}
	xMax, yMax := niceMax(append(slices.Clone(px), axes.markX)), niceMax(append(py, axes.limit))
	at := func(x, y float64) (float64, float64) {
		return pad + (chartW-2*pad)*x/xMax, chartH - pad - (chartH-2*pad)*y/yMax
	}
	var pts, dots, marks strings.Builder
	for i := range px {
		x, y := at(px[i], py[i])
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
		fmt.Fprintf(&dots, `<circle cx="%.1f" cy="%.1f" r="3" class="dot"/>`, x, y)
	}
	if len(labels) > 0 {
		fmt.Fprintf(&marks, `<text x="%.0f" y="%.0f" class="title" text-anchor="end">%s</text>`,
			pad-4, chartH-pad+14, template.HTMLEscapeString(axes.labelsTitle))
		last := math.Inf(-1)
		for i, l := range labels {
			// Levels closer than a label's width would overlap: the first stands.
			if x, _ := at(px[i], 0); math.Abs(x-last) >= 18 {
				fmt.Fprintf(&marks, `<text x="%.1f" y="%.0f" class="label">%s</text>`, x, chartH-pad+14, template.HTMLEscapeString(l))
				last = x
			}
		}
	}
	if axes.limit > 0 {
		_, y := at(0, axes.limit)
		fmt.Fprintf(&marks, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="limit"/>`, pad, y, chartW-pad, y)
	}
	if axes.markLabel != "" {
		x, _ := at(axes.markX, 0)
		anchor, dx := "start", 4.0 // the label beside the line, inside the chart
		if x > chartW/2 {
			anchor, dx = "end", -4
		}
		fmt.Fprintf(&marks, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" class="knee"/><text x="%.1f" y="%.0f" class="mark" text-anchor="%s">%s</text>`,
			x, pad, x, chartH-pad, x+dx, pad+12, anchor, template.HTMLEscapeString(axes.markLabel))
	}
	return template.HTML(fmt.Sprintf(`<svg viewBox="0 0 %.0f %.0f" class="chart">`+
		`%s<polyline points="%s" class="line"/>%s`+
		`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`+
		`<text x="%.0f" y="%.0f" class="label">%s (0–%.0f)</text><text x="%.0f" y="%.0f" class="title">%s, max %.2g</text></svg>`,
		chartW, chartH, marks.String(), pts.String(), dots.String(),
		pad, chartH-pad, chartW-pad, chartH-pad, pad, pad, pad, chartH-pad,
		chartW/2, chartH-8, axes.x, xMax, pad, pad-10, axes.title, yMax))
}

func safe(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}

// niceMax is a round upper bound for an axis.
func niceMax(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		m = math.Max(m, safe(v))
	}
	if m == 0 {
		return 1
	}
	step := math.Pow(10, math.Floor(math.Log10(m)))
	return math.Ceil(m/step) * step
}

// pageStyle is the reports' shared stylesheet.
const pageStyle = `<style>
body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#1d2330;background:#f6f7fb}
h1{font-size:22px;margin:0 0 4px} .muted{color:#6b7385}
.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:18px 0}
.card{background:#fff;border-radius:12px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card b{display:block;font-size:22px;margin-top:4px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.chart{width:100%;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.bar{fill:#2f7cf6}.line{fill:none;stroke:#2f7cf6;stroke-width:2.5}.axis{stroke:#c5cad6}
.dot{fill:#2f7cf6}.limit{stroke:#e5484d;stroke-width:1.5;stroke-dasharray:6 4}
.knee{stroke:#1d2330;stroke-width:1;stroke-dasharray:3 3}.mark{font-size:11px;fill:#1d2330}
.label{font-size:11px;fill:#6b7385;text-anchor:middle}.title{font-size:11px;fill:#6b7385}.value{font-size:11px;fill:#1d2330;text-anchor:middle}
table{border-collapse:collapse;background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08);width:100%}
td{padding:8px 14px;border-bottom:1px solid #eef0f5} td:first-child{color:#6b7385;width:220px}
</style>`

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"mul100": func(v float64) float64 { return 100 * v },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trtcd bench — {{.R.Target}}{{with .R.ViewTarget}} → {{.}}{{end}}</title>
` + pageStyle + `</head><body>
<h1>trtcd bench</h1>
<p class="muted">{{.R.Target}}{{with .R.ViewTarget}} → viewers on {{.}} (cross-node){{end}} · {{.R.RoomsUp}} of {{.R.Rooms}} rooms · measured {{printf "%.0f" .R.DurationSeconds}} s after ramp-up</p>
<div class="grid">
<div class="card">Delivery<b>{{printf "%.2f" (mul100 .R.DeliveryRatio)}} %</b></div>
<div class="card">Latency p99<b>{{printf "%.1f" .R.LatencyMs.P99}} ms</b></div>
<div class="card">Server CPU{{if .R.Server}}<b>{{printf "%.2f" .R.Server.CPUCores}} cores</b>{{else}}<b>n/a</b>{{end}}</div>
<div class="card">CPU per packet{{if .R.Server}}<b>{{printf "%.1f" .R.Server.MicrosPerPacket}} µs</b>{{else}}<b>n/a</b>{{end}}</div>
</div>
<div class="charts">
<div><h3>End-to-end latency</h3>{{.Latency}}</div>
<div><h3>Server CPU against rooms</h3>{{.CPU}}</div>
<div><h3>Loss against rooms</h3>{{.Loss}}</div>
<div><h3>Figures</h3><table>
<tr><td>packets</td><td>{{.R.Received}} of {{.R.Expected}} ({{.R.Lost}} lost, {{.R.Late}} late or recovered)</td></tr>
<tr><td>join time p50 / p99</td><td>{{printf "%.0f" .R.JoinMs.P50}} / {{printf "%.0f" .R.JoinMs.P99}} ms</td></tr>
<tr><td>keyframe wait p50 / p99</td><td>{{printf "%.0f" .R.KeyframeWaitMs.P50}} / {{printf "%.0f" .R.KeyframeWaitMs.P99}} ms</td></tr>
<tr><td>video jitter</td><td>{{printf "%.1f" .R.JitterMs}} ms</td></tr>
<tr><td>received per room</td><td>{{printf "%.0f" .R.KbpsPerRoom}} kbps</td></tr>
{{if .R.Server}}<tr><td>server memory</td><td>{{printf "%.0f" .R.Server.RSSMiB}} MiB</td></tr>{{end}}
<tr><td>generator</td><td>{{printf "%.2f" .R.Generator.CPUCores}} cores, {{printf "%.0f" .R.Generator.RSSMiB}} MiB (shares the machine)</td></tr>
</table></div>
</div></body></html>`))
