package bench

import (
	"fmt"
	"io"
	"runtime"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

// ReplayReport is bench e2e on a recording: the replay at maximum speed
// beside the recording's read-and-decode rate alone.
type ReplayReport struct {
	Path, Machine string
	// MediaS is the recording's span of arrival times; ReadS the time to
	// read and decode every sample alone; WallS the replay's.
	MediaS, ReadS, WallS float64
	Frames, Decisions    int
	CPUNS                int64
	Mallocs              uint64
	PeakRSSMB            float64
}

// MeasureReplay reads and decodes the recording at path alone, then
// measures replay, which runs the replay of it at maximum speed and
// gives every decision to sink as well.
func MeasureReplay(path string, replay func(sink sinks.Sink) error) (*ReplayReport, error) {
	clock := av.NewRealClock()
	// The limit: read and decode every sample, nothing else.
	t0 := clock.Now()
	rep := &ReplayReport{Path: path}
	var firstNS, lastNS int64
	r, err := recording.Open(path)
	if err != nil {
		return nil, err
	}
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		s, err := r.Sample(m)
		if err != nil || s == nil {
			continue
		}
		if _, ok := s.(*av.Frame); ok {
			rep.Frames++
		}
		if firstNS == 0 {
			firstNS = s.SampleMeta().ArrivalNS
		}
		lastNS = s.SampleMeta().ArrivalNS
		s.Release()
	}
	r.Close()
	rep.ReadS = float64(clock.Now()-t0) / 1e9
	rep.MediaS = float64(lastNS-firstNS) / 1e9

	col := &e2eCollector{}
	runtime.GC()
	resetPeakRSS()
	before := readProc()
	t1 := clock.Now()
	err = replay(col)
	rep.WallS = float64(clock.Now()-t1) / 1e9
	after := readProc()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rep.Machine = Machine()
	rep.Decisions = len(col.decisions)
	rep.CPUNS = after.cpuNS - before.cpuNS
	rep.Mallocs = after.mallocs - before.mallocs
	rep.PeakRSSMB = peakRSSMB()
	return rep, nil
}

// Print writes the report's table, in Markdown.
func (r *ReplayReport) Print(w io.Writer) {
	fmt.Fprintf(w, "fusiond bench e2e %s — %s\n\n", r.Path, r.Machine)
	fmt.Fprintln(w, "| run | media s | wall s | × real time | frames/s | decisions | CPU (% of one core) | peak RSS MB | allocs/frame |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	fmt.Fprintf(w, "| replay, max speed | %.1f | %.2f | %.1f | %.0f | %d | %.1f | %.0f | %.0f |\n", r.MediaS, r.WallS, r.MediaS/r.WallS, float64(r.Frames)/r.WallS,
		r.Decisions, 100*float64(r.CPUNS)/(r.WallS*1e9), r.PeakRSSMB, float64(r.Mallocs)/float64(max(r.Frames, 1)))
	fmt.Fprintf(w, "| limit: read + decode the recording alone | %.1f | %.2f | %.1f | %.0f | | | | |\n", r.MediaS, r.ReadS, r.MediaS/r.ReadS, float64(r.Frames)/r.ReadS)
	fmt.Fprintf(w, "\nratio (replay / read alone): %.2f\n", r.ReadS/r.WallS)
	fmt.Fprintln(w, "Latencies in a replay come from the virtual clock (recorded arrival times) and are not measured here.")
}
