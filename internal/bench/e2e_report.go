package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/internal/plot"
)

// E2EReport is everything one bench e2e printed.
type E2EReport struct {
	Machine string    `json:"machine"`
	Date    string    `json:"date"`
	Command string    `json:"command"`
	Runs    []E2ERun  `json:"runs"`
	Limits  E2ELimits `json:"limits"`
}

// ReadE2EReport reads a report that WriteJSON wrote.
func ReadE2EReport(path string) (*E2EReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep E2EReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// WriteJSON writes the report to path, indented.
func (r *E2EReport) WriteJSON(path string) error {
	data, _ := json.MarshalIndent(r, "", "  ")
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// spanOrder is the order of the latency table's rows.
var spanOrder = []string{"tick", "processing", "bundle arrival→sync", "bundle capture→sync", "capture→sync", "sync→fuse", "fuse→publish", "arrival→publish (stamped)", "capture→publish"}

// The targets of a paced run (issue 16: 4 × 640×480 at 30 fps and a
// 4-channel array on a 2-core machine).
const (
	TargetTickP99MS      = 10.0
	TargetCPUPerCameraPC = 20.0
	TargetPeakRSSMB      = 300.0
)

// Met says which targets paced run x misses ("met" when none).
func (x E2ERun) Met() string {
	var missed []string
	if x.Latency["tick"].P99 > TargetTickP99MS || x.Latency["tick"].N == 0 {
		missed = append(missed, "tick p99")
	}
	if 100*x.CPUCores/float64(max(x.Cameras, 1)) > TargetCPUPerCameraPC {
		missed = append(missed, "CPU")
	}
	if x.PeakRSSMB > TargetPeakRSSMB {
		missed = append(missed, "RSS")
	}
	if len(missed) == 0 {
		return "met"
	}
	return "not met: " + strings.Join(missed, ", ")
}

// pairs are the report's runs by camera count: each paced run and the
// maximum-speed run after it.
func (r *E2EReport) pairs() [][2]E2ERun {
	var out [][2]E2ERun
	for i := 0; i+1 < len(r.Runs); i += 2 {
		out = append(out, [2]E2ERun{r.Runs[i], r.Runs[i+1]})
	}
	return out
}

// Print writes the report's tables, in Markdown.
func (r *E2EReport) Print(w io.Writer) {
	fmt.Fprintf(w, "fusiond bench e2e — %s — %s\n\n", r.Date, r.Machine)
	fmt.Fprintf(w, "One daemon per row: its cameras and one microphone array. Paced: tick p99 (arrival of the bundle that closes a tick → its last decision published), CPU, peak RSS; targets p99 ≤ %g ms, CPU ≤ %g %% of a core per camera, RSS ≤ %g MB. Maximum speed beside the source alone (the decode limit), same run.\n\n",
		TargetTickP99MS, TargetCPUPerCameraPC, TargetPeakRSSMB)
	fmt.Fprintln(w, "| cameras | tick p99 ms | CPU (% of one core) | CPU per camera | peak RSS MB | targets | max-speed frames/s | source alone frames/s | ratio | max-speed × real time | load (1 min) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, pm := range r.pairs() {
		p, m := pm[0], pm[1]
		ratio := 0.0
		if m.SourceFPS > 0 {
			ratio = m.FramesPS / m.SourceFPS
		}
		fmt.Fprintf(w, "| %d | %.2f | %.1f | %.1f | %.0f | %s | %.0f | %.0f | %.2f | %.2f | %.1f |\n", p.Cameras, p.Latency["tick"].P99, 100*p.CPUCores,
			100*p.CPUCores/float64(max(p.Cameras, 1)), p.PeakRSSMB, p.Met(), m.FramesPS, m.SourceFPS, ratio, m.XRealTime, p.Load1)
	}
	fmt.Fprintln(w, "\nEvery run:")
	fmt.Fprintln(w, "\n| run | cameras | media s | wall s | × real time | frames/s | ticks | decisions | CPU (% of one core) | peak RSS MB | allocs/tick | drops |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, x := range r.Runs {
		var drops uint64
		for _, d := range x.Drops {
			if d.Reason != av.DropShutdown {
				drops += d.Count
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.1f | %.0f | %d | %d | %.1f | %.0f | %.0f | %d |\n",
			x.Mode, x.Cameras, x.MediaS, x.WallS, x.XRealTime, x.FramesPS, x.Bundles, x.Decisions, 100*x.CPUCores, x.PeakRSSMB, x.AllocsBundle, drops)
	}
	fmt.Fprintln(w, "\nLatency, ms (tick: arrival of the bundle that closed a tick's decisions → the last published; processing: the same, per decision):")
	for _, x := range r.Runs {
		fmt.Fprintf(w, "\n%s, %d camera(s):\n\n", x.Mode, x.Cameras)
		fmt.Fprintln(w, "| span | n | p50 | p90 | p99 | p99.9 | max |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
		for _, k := range spanOrder {
			p, ok := x.Latency[k]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |\n", k, p.N, p.P50, p.P90, p.P99, p.P999, p.Max)
		}
	}
	fmt.Fprintln(w, "\nLimits measured in the same run:")
	fmt.Fprintln(w, "\n| limit | rate | ours | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, x := range r.Runs {
		if x.Mode != E2EMax {
			continue
		}
		if x.SourceFPS > 0 {
			fmt.Fprintf(w, "| %s | %.0f frames/s | %.0f frames/s (max speed, %d camera(s)) | %.2f |\n", x.SourceWhat, x.SourceFPS, x.FramesPS, x.Cameras, x.FramesPS/x.SourceFPS)
		}
		if l := r.Limits; l.NATSPerS > 0 {
			fmt.Fprintf(w, "| NATS core publish, %d B, same embedded server setup | %.0f msg/s | %.0f decisions/s (%d camera(s)) | %.4f |\n", l.PayloadBytes, l.NATSPerS, float64(x.Decisions)/x.WallS, x.Cameras, float64(x.Decisions)/x.WallS/l.NATSPerS)
		}
	}
}

// cdfCutMS bounds the latency plot's x axis: the target is 10 ms.
const cdfCutMS = 20.0

// Plots writes e2e-latency-cdf.svg (tick latency of each paced run) and,
// with more than one camera count, e2e-scaling.svg (CPU against cameras)
// into dir.
func (r *E2EReport) Plots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cdf := plot.Figure{Title: fmt.Sprintf("Tick latency, paced, one daemon (CDF; a line that stops below 1 goes on past %g ms)", cdfCutMS),
		XLabel: "tick latency (ms)", YLabel: "fraction of ticks", YMax: 1}
	for _, x := range r.Runs {
		if x.Mode != E2EPaced || len(x.TickMS) == 0 {
			continue
		}
		xs, ys := plot.CDF(x.TickMS, cdfCutMS)
		cdf.Series = append(cdf.Series, plot.Series{Name: fmt.Sprintf("%d camera(s)", x.Cameras), X: xs, Y: ys})
	}
	if err := plot.WriteFile(filepath.Join(dir, "e2e-latency-cdf.svg"), cdf); err != nil {
		return err
	}
	pairs := r.pairs()
	if len(pairs) < 2 {
		return nil
	}
	total, per := plot.Series{Name: "CPU, the daemon"}, plot.Series{Name: "CPU per camera"}
	for _, pm := range pairs {
		p := pm[0]
		total.X, total.Y = append(total.X, float64(p.Cameras)), append(total.Y, 100*p.CPUCores)
		per.X, per.Y = append(per.X, float64(p.Cameras)), append(per.Y, 100*p.CPUCores/float64(max(p.Cameras, 1)))
	}
	return plot.WriteFile(filepath.Join(dir, "e2e-scaling.svg"), plot.Figure{
		Title:  "Scaling, paced: 640×480@30 cameras + a 4-channel 48 kHz array, one daemon",
		XLabel: "cameras", YLabel: "CPU (% of one core)",
		Series: []plot.Series{total, per}, LegendTopLeft: true, Points: true})
}
