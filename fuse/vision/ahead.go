//go:build !nosensors

package vision

import (
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Ahead runs an Extractor's cascade passes on frames before the extractor
// takes them, in a goroutine of its own: a frame's pass depends only on
// its pixels and its place in the detector's cycle, so it can run while
// the extractor still tracks the frames before it. Part k of n scans the
// frames whose place in the sequence is k modulo n and only counts the
// others, so n Aheads chained one after another spread the passes over n
// goroutines. Every Ahead must see every frame the extractor will, in the
// same order (nil frames aside). Its Scanned results, handed to the
// extractor by UseScan, give the features Push computes alone, byte for
// byte. An Ahead is not safe for concurrent use.
type Ahead struct {
	owner       *Extractor
	x           *Extractor // the geometry, the cascades and the buffers of the passes
	part, parts uint64
}

// Scanned is one frame's cascade passes, made by an Ahead.
type Scanned struct {
	owner        *Extractor
	frame        *av.Frame
	w, h         int
	n            uint64 // the frame's place since the last restart
	small, large []hit
}

// NewAhead returns part k of n of e's cascade passes (0 ≤ k < n), with
// cascades of its own. Close it after use.
func (e *Extractor) NewAhead(k, n int) (*Ahead, error) {
	x, err := newExtractor(e.cfg)
	if err != nil {
		return nil, err
	}
	return &Ahead{owner: e, x: x, part: uint64(max(0, k)), parts: uint64(max(1, n))}, nil
}

// Scan runs the passes of frame f when it is this part's, or returns nil.
func (a *Ahead) Scan(f *av.Frame) *Scanned {
	x := a.x
	if f == nil || !frameOK(f) {
		return nil
	}
	if f.Width != x.w || f.Height != x.h {
		x.restart(f.Width, f.Height)
	}
	n := x.frameN
	x.frameN++
	if n%a.parts != a.part || len(x.cascades) == 0 {
		return nil
	}
	img, err := x.frameMat(f)
	if err != nil {
		return nil
	}
	defer img.Close()
	s := &Scanned{owner: a.owner, frame: f, w: x.w, h: x.h, n: n}
	if lo, hi, ok := x.smallSched.band(n); ok {
		s.small = append([]hit(nil), x.rawPass(x.scanLuma(img, f.Format), x.sw, lo, hi)...)
	}
	if lo, hi, ok := x.largeSched.band(n); ok {
		x.detectionLuma(img, f.Format)
		s.large = append([]hit(nil), x.rawPass(x.smallG, x.dw, lo, hi)...)
	}
	return s
}

// UseScan hands the extractor the cascade passes of the frame its next
// Push takes; a Scanned of another frame or extractor is ignored (Push
// then runs the passes itself).
func (e *Extractor) UseScan(s *Scanned) { e.pre = s }

// Close releases the Ahead's OpenCV memory.
func (a *Ahead) Close() error { return a.x.Close() }
