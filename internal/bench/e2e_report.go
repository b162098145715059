package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
var spanOrder = []string{"processing", "bundle arrival→sync", "bundle capture→sync", "capture→sync", "sync→fuse", "fuse→publish", "arrival→publish (stamped)", "capture→publish"}

// Print writes the report's tables, in Markdown.
func (r *E2EReport) Print(w io.Writer) {
	fmt.Fprintf(w, "fusiond bench e2e — %s — %s\n\n", r.Date, r.Machine)
	fmt.Fprintln(w, "| run | cameras | media s | wall s | × real time | frames/s | decisions | CPU (% of one core) | peak RSS MB | allocs/bundle | drops |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, x := range r.Runs {
		var drops uint64
		for _, d := range x.Drops {
			if d.Reason != av.DropShutdown {
				drops += d.Count
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.1f | %.0f | %d | %.1f | %.0f | %.0f | %d |\n",
			x.Mode, x.Cameras, x.MediaS, x.WallS, x.XRealTime, x.FramesPS, x.Decisions, 100*x.CPUCores, x.PeakRSSMB, x.AllocsBundle, drops)
	}
	fmt.Fprintln(w, "\nLatency, ms (processing = arrival of the bundle that closed the decision → published):")
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
	l := r.Limits
	fmt.Fprintln(w, "\nLimits measured in the same run:")
	fmt.Fprintln(w, "\n| limit | rate | ours | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, x := range r.Runs {
		if x.Mode != E2EMax {
			continue
		}
		if l.SourceFPS > 0 {
			fmt.Fprintf(w, "| %s | %.0f frames/s | %.0f frames/s (max speed, %d camera(s)) | %.2f |\n", l.SourceWhat, l.SourceFPS, x.FramesPS, x.Cameras, x.FramesPS/l.SourceFPS)
		}
		if l.NATSPerS > 0 {
			fmt.Fprintf(w, "| NATS core publish, %d B, same embedded server setup | %.0f msg/s | %.0f decisions/s | %.4f |\n", l.PayloadBytes, l.NATSPerS, float64(x.Decisions)/x.WallS, float64(x.Decisions)/x.WallS/l.NATSPerS)
		}
	}
	if len(r.Runs) > 2 {
		fmt.Fprintln(w, "\nScaling (paced, each camera its own pipeline with a 48 kHz stereo microphone):")
		fmt.Fprintln(w, "\n| cameras | CPU (% of one core) | CPU per camera | processing p99 ms | peak RSS MB | max-speed × real time (per pipeline) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
		for i := 0; i+1 < len(r.Runs); i += 2 {
			p, m := r.Runs[i], r.Runs[i+1]
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %.3f | %.0f | %.1f |\n", p.Cameras, 100*p.CPUCores, 100*p.CPUCores/float64(p.Cameras), p.Latency["processing"].P99, p.PeakRSSMB, m.XRealTime)
		}
	}
}

// cdfCutMS bounds the latency plot's x axis: the target is 10 ms.
const cdfCutMS = 20.0

// Plots writes e2e-latency-cdf.svg (processing latency of each paced run)
// and, with more than one camera count, e2e-scaling.svg into dir.
func (r *E2EReport) Plots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cdf := plot.Figure{Title: fmt.Sprintf("Processing latency, paced (CDF; a line that stops below 1 goes on past %g ms)", cdfCutMS),
		XLabel: "processing latency (ms)", YLabel: "fraction of decisions", YMax: 1}
	for _, x := range r.Runs {
		if x.Mode != E2EPaced || len(x.ProcessingMS) == 0 {
			continue
		}
		xs, ys := plot.CDF(x.ProcessingMS, cdfCutMS)
		cdf.Series = append(cdf.Series, plot.Series{Name: fmt.Sprintf("%d camera(s)", x.Cameras), X: xs, Y: ys})
	}
	if err := plot.WriteFile(filepath.Join(dir, "e2e-latency-cdf.svg"), cdf); err != nil {
		return err
	}
	if len(r.Runs) <= 2 {
		return nil
	}
	total, per := plot.Series{Name: "CPU, all pipelines"}, plot.Series{Name: "CPU per camera"}
	for i := 0; i+1 < len(r.Runs); i += 2 {
		p := r.Runs[i]
		total.X, total.Y = append(total.X, float64(p.Cameras)), append(total.Y, 100*p.CPUCores)
		per.X, per.Y = append(per.X, float64(p.Cameras)), append(per.Y, 100*p.CPUCores/float64(p.Cameras))
	}
	return plot.WriteFile(filepath.Join(dir, "e2e-scaling.svg"), plot.Figure{
		Title:  "Scaling, paced: one 640×480@30 camera + 48 kHz stereo mic per pipeline",
		XLabel: "cameras (pipelines)", YLabel: "CPU (% of one core)",
		Series: []plot.Series{total, per}, LegendTopLeft: true, Points: true})
}
