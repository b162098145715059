package fusiond

import (
	"runtime"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/vision"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Replay's stages run as a pipeline, one goroutine each, joined by bounded
// channels:
//
//	read + decode → sync → per camera: cascade passes ahead (aheadParts
//	goroutines, each scanning every n-th frame) → visual features → fusion
//	(audio features, the head, the decision kinds) and the sinks
//
// Face detection, inside the visual features, is most of a replay's cost:
// its cascade passes depend only on a frame's pixels and its place in the
// detector's cycle (vision.Ahead), so they run in goroutines of their own
// ahead of the tracking, which takes their detections in order; the rest
// of fusion and the reading beside it are most of what remains.
// Every stage sees its input in the order the sequential driver (Stages)
// gives it, and the virtual clock travels with each bundle (the arrival
// time of the sample that completed it), so the decisions, their stamps
// and so latency_ns are those of Stages, byte for byte.

// pipeDepth is the capacity of each channel between two stages: enough to
// absorb one stage's uneven cost (a detector band) without holding more
// than a fraction of a second of frames.
const pipeDepth = 16

// visualApart is fusion's fuse.FrameFeatures when the visual features are
// computed in a goroutine of their own: measure runs the extractor there,
// and PushFrame, in fusion's goroutine, hands over what it measured for
// the same frame.
type visualApart struct {
	features fuse.FrameFeatures
	next     map[string]float64
	// spare holds maps PushFrame has emptied, for measure to fill again:
	// no map per frame once the pipeline holds enough (newVisualApart).
	spare chan map[string]float64
}

func newVisualApart(features fuse.FrameFeatures) *visualApart {
	// A map for each frame a pipeline can hold between measure and
	// fusion: the channels' and the stages' own.
	return &visualApart{features: features, spare: make(chan map[string]float64, 2*pipeDepth+4)}
}

// measure computes the visual features of camera i's frame of b, as
// fusion would (fuse.visualSummary.push measures every bundle with a
// frame), or returns nil when b has none.
func (v *visualApart) measure(b *av.Bundle, i int) map[string]float64 {
	f := b.CameraFrame(i)
	if !b.Has(av.Video) || f == nil {
		return nil
	}
	var ev map[string]float64
	select {
	case ev = <-v.spare:
	default:
		ev = make(map[string]float64, 16)
	}
	v.features.PushFrame(f, ev)
	return ev
}

// PushFrame implements fuse.FrameFeatures: it adds the features measured
// for this frame (set as next before fusion takes its bundle).
func (v *visualApart) PushFrame(_ *av.Frame, ev map[string]float64) {
	if v.next == nil {
		return
	}
	for k, x := range v.next {
		ev[k] = x
	}
	clear(v.next)
	select {
	case v.spare <- v.next:
	default: // full: the garbage collector takes it
	}
	v.next = nil
}

// Close closes the extractor.
func (v *visualApart) Close() error { return v.features.Close() }

// aheadScanner is the part of fuse/vision's extractor that runs its
// cascade passes ahead (vision.Ahead); the extractor with taps on its
// faces has it too.
type aheadScanner interface {
	NewAhead(k, n int) (*vision.Ahead, error)
	UseScan(*vision.Scanned)
}

// aheads returns n parts of the cascade passes of v's extractor, or nil
// when it has none.
func (v *visualApart) aheads(n int) []*vision.Ahead {
	sc, ok := v.features.(aheadScanner)
	if !ok {
		return nil
	}
	var out []*vision.Ahead
	for k := range n {
		a, err := sc.NewAhead(k, n)
		if err != nil {
			for _, a := range out {
				a.Close()
			}
			return nil
		}
		out = append(out, a)
	}
	return out
}

// useScan hands v's extractor the cascade passes of its next frame.
func (v *visualApart) useScan(s *vision.Scanned) {
	if sc, ok := v.features.(aheadScanner); ok && s != nil {
		sc.UseScan(s)
	}
}

// pipeItem is a bundle on its way through the pipeline.
type pipeItem struct {
	b     *av.Bundle
	nowNS int64                // the virtual clock when sync emitted b
	ev    []map[string]float64 // b's visual features by camera, when measured apart
	scans []*vision.Scanned    // b's cascade passes by camera, when made ahead
}

// aheadParts is how many goroutines run each camera's cascade passes
// ahead of its visual features: the camera's share of the cores, at most
// maxAheadParts, or none when that share is under two cores (the cameras'
// own goroutines then keep the cores busy: measured with four cameras on
// two cores, one part each gained nothing).
func aheadParts(cameras int) int {
	n := min(maxAheadParts, runtime.GOMAXPROCS(0)/max(1, cameras))
	if n < 2 {
		return 0
	}
	return n
}

// maxAheadParts bounds the goroutines of one camera's cascade passes:
// each holds cascades and buffers of its own.
const maxAheadParts = 4

// runPipeline drives st from samples (closed at the end of the input)
// until it is closed and the stages have flushed what they hold: sync in
// one goroutine, the visual features (with st.apart) in one more per
// camera, fusion in the caller's. observe, when set, sees every bundle before fusion, in
// sync's goroutine; publish gets every decision, stamped, in the caller's.
// Every stage drains its input, so runPipeline returns once samples is
// closed, whatever the stages do.
func runPipeline(st *stages, samples <-chan av.Sample, observe func(*av.Bundle), publish func(*av.Decision)) {
	bundles := make(chan pipeItem, pipeDepth)
	var lastNS int64 // the clock at the end of the input, set before bundles closes
	go func() {
		defer close(bundles)
		var nowNS int64
		emit := func(b *av.Bundle) {
			b.Stamps[av.StageSync] = nowNS
			if observe != nil {
				observe(b)
			}
			bundles <- pipeItem{b: b, nowNS: nowNS}
		}
		for s := range samples {
			nowNS = max(nowNS, s.SampleMeta().ArrivalNS) // as the virtual clock moves
			st.sync.Push(s, emit)
		}
		st.sync.Flush(emit)
		lastNS = nowNS
	}()
	fused := bundles
	cameras := st.cameraThreads()
	parts := aheadParts(cameras)
	defer holdCThreads(cameras * parts)()
	for i, v := range st.apart {
		if v == nil {
			continue
		}
		for _, a := range v.aheads(parts) {
			in, scanned := fused, make(chan pipeItem, pipeDepth)
			go func() {
				defer close(scanned)
				defer a.Close()
				for it := range in {
					if f := it.b.CameraFrame(i); it.b.Has(av.Video) && f != nil {
						if s := a.Scan(f); s != nil {
							if it.scans == nil {
								it.scans = make([]*vision.Scanned, len(st.apart))
							}
							it.scans[i] = s
						}
					}
					scanned <- it
				}
			}()
			fused = scanned
		}
		in, measured := fused, make(chan pipeItem, pipeDepth)
		go func() {
			defer close(measured)
			for it := range in {
				if it.ev == nil {
					it.ev = make([]map[string]float64, len(st.apart))
				}
				if it.scans != nil {
					v.useScan(it.scans[i])
				}
				it.ev[i] = v.measure(it.b, i)
				measured <- it
			}
		}()
		fused = measured
	}
	var nowNS int64
	stamp := func(x *av.Decision) {
		x.Stamps[av.StageFuse] = nowNS
		x.Stamps[av.StagePublish] = nowNS
		publish(x)
	}
	for it := range fused {
		nowNS = it.nowNS
		for i, v := range st.apart {
			if v != nil {
				v.next = it.ev[i]
			}
		}
		st.fuse.Push(it.b, stamp)
		it.b.Release()
	}
	nowNS = lastNS
	st.fuse.Flush(stamp)
}
