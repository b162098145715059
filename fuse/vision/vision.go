//go:build !nosensors

package vision

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"os"
	"slices"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Extractor computes visual features frame by frame: the MOG2 foreground
// fraction, faces (a cascade pass spread over FaceEvery frames, each
// frame's part on a worker of its own and matched a frame later; template
// tracking on every frame), each face's bearing and mouth motion. It is
// not safe for concurrent use; Close stops its worker and releases its
// OpenCV memory.
type Extractor struct {
	cfg Config

	// Frame geometry in use; a change restarts the state below.
	w, h           int
	scale          float64  // detection pixels per frame pixel
	dw, dh, mw, mh int      // detection and MOG2 sizes
	focalPx        float64  // pinhole focal length in frame pixels
	small          gocv.Mat // detection-size BGR
	smallG, prevSG gocv.Mat // detection-size luma, this frame and the last
	haveSG         bool
	eq             gocv.Mat // smallG equalised, for the detector
	tiny           gocv.Mat // MOG2-size BGR
	fgMask, fgBin  gocv.Mat
	res, noMask    gocv.Mat // template matching
	mog2           gocv.BackgroundSubtractorMOG2
	haveMOG2       bool
	cascades       []cascade
	sw, sh         int      // the size the detector scans
	scanS, scanG   gocv.Mat // scan-size BGR and luma, when it is not the detection size
	flip           gocv.Mat // eq flipped left to right, for mirrored cascades
	vroi, vflip    gocv.Mat // verify's region, equalised, and flipped
	// largeSched schedules the faces of 24 px and more at DetectWidth over
	// FaceEvery frames, smallSched the smaller ones on the scan luma over
	// smallCycles times as many.
	largeSched, smallSched schedule
	minFace                int   // the smallest face scanned, in detection px
	hits                   []hit // a pass's raw hits, reused by the next
	rects                  []image.Rectangle
	found                  []found // a band's detections, grouped and merged
	// smallEdge and largeEdge are the raw hits at the largest size of the
	// last band matched of each schedule: the next band's smallest size
	// is the one beside it, and a face between the two needs hits at both
	// to reach MinNeighbors.
	smallEdge, largeEdge []hit
	contig               []byte // a copy of frames whose stride has padding

	frameN uint64
	// pre is the next frame's cascade passes, made ahead (UseScan).
	pre *Scanned
	// passes are the last detectLag+1 frames' cascade passes, by frame
	// place modulo their number; worker runs those not made ahead.
	passes [detectLag + 1]pass
	worker *passWorker
	// usedPre counts the frames whose passes were made ahead.
	usedPre uint64
	faces   []track
	out     []Face
	nextID  uint64
	// speaker is the id of the face the summary (bearing, mouth motion)
	// follows, 0 for none: see candidate.
	speaker uint64

	v Values
	// Counters are the counts so far.
	Counters Counters
}

type track struct {
	id        uint64
	box       image.Rectangle // detection pixels
	prevBox   image.Rectangle
	havePrev  bool
	tmpl      gocv.Mat // detection-size luma patch
	detected  bool     // by this frame's band
	confirmed bool     // by a band of the current cycle
	hits      int      // detector runs that found it
	missed    bool     // by the whole last cycle
	checked   bool     // verify has run
}

type cascade struct {
	cc       gocv.CascadeClassifier
	mirrored bool
}

// found is one detection in detection pixels, with the index of the
// cascade that made it.
type found struct {
	box     image.Rectangle
	cascade int
}

// hit is one window a cascade accepted, before hits are grouped: in the
// pixels of the image scanned (unmirrored), its side the face size.
type hit struct {
	box     image.Rectangle
	cascade int
}

// New returns an Extractor. It fails when face detection is on and
// a cascade does not load. With face detection on, it starts the worker
// its cascade passes run on; Close stops it.
func New(cfg Config) (*Extractor, error) {
	e, err := newExtractor(cfg)
	if err != nil || len(e.cascades) == 0 {
		return e, err
	}
	if e.worker, err = newWorker(e.cfg, len(e.passes)); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// newExtractor returns an Extractor without a worker: one that runs the
// passes of another (a worker's, an Ahead's).
func newExtractor(cfg Config) (*Extractor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	e := &Extractor{cfg: cfg}
	if cfg.FaceEvery > 0 {
		if len(cfg.Cascades) == 0 {
			return nil, fmt.Errorf("%w: none configured", ErrNoCascade)
		}
		for _, c := range cfg.Cascades {
			cc := gocv.NewCascadeClassifier()
			if _, err := os.Stat(c.Path); err != nil || !cc.Load(c.Path) {
				cc.Close()
				e.closeCascades()
				return nil, fmt.Errorf("%w: %s", ErrNoCascade, c.Path)
			}
			e.cascades = append(e.cascades, cascade{cc: cc, mirrored: c.Mirrored})
		}
	}
	for _, m := range e.mats() {
		*m = gocv.NewMat()
	}
	return e, nil
}

func (e *Extractor) mats() []*gocv.Mat {
	ms := []*gocv.Mat{&e.small, &e.smallG, &e.prevSG, &e.eq, &e.tiny, &e.fgMask, &e.fgBin, &e.res, &e.noMask, &e.scanS, &e.scanG, &e.flip, &e.vroi, &e.vflip}
	for i := range e.passes {
		ms = append(ms, &e.passes[i].scan, &e.passes[i].smallG)
	}
	return ms
}

func (e *Extractor) closeCascades() {
	for _, c := range e.cascades {
		c.cc.Close()
	}
	e.cascades = nil
}

// Config returns the configuration with its defaults applied.
func (e *Extractor) Config() Config { return e.cfg }

// Close releases the OpenCV memory the extractor holds.
func (e *Extractor) Close() error {
	if e.worker != nil {
		e.worker.stop()
		e.worker = nil
	}
	for _, m := range e.mats() {
		m.Close()
	}
	e.dropFaces()
	if e.haveMOG2 {
		e.mog2.Close()
		e.haveMOG2 = false
	}
	e.closeCascades()
	return nil
}

func (e *Extractor) dropFaces() {
	for i := range e.faces {
		e.faces[i].tmpl.Close()
	}
	e.faces = e.faces[:0]
}

// restart sets the geometry up for w×h frames.
func (e *Extractor) restart(w, h int) {
	if e.w != 0 {
		e.Counters.Restarts++
	}
	e.w, e.h = w, h
	e.haveSG = false
	e.dw = min(e.cfg.DetectWidth, w)
	e.scale = float64(e.dw) / float64(w)
	e.dh = max(1, int(math.Round(float64(h)*e.scale)))
	e.mw = min(e.cfg.MOG2Width, w)
	e.mh = max(1, int(math.Round(float64(h)*float64(e.mw)/float64(w))))
	e.focalPx = float64(w) / 2 / math.Tan(e.cfg.HFOVDeg*math.Pi/360)
	if e.haveMOG2 {
		e.mog2.Close()
	}
	e.mog2 = gocv.NewBackgroundSubtractorMOG2WithParams(e.cfg.MOG2History, e.cfg.MOG2VarThreshold, true)
	e.haveMOG2 = true
	// The detector scans at the width where the smallest face is the
	// cascades' window, never above the frame's; at the detection width
	// it reuses the detection luma.
	e.sw = e.dw
	if e.cfg.MinFacePx > 0 {
		e.sw = min(w, int(math.Ceil(float64(w)*cascadeWindow/float64(e.cfg.MinFacePx))))
	}
	if e.sw <= e.dw {
		e.sw = e.dw
	}
	e.sh = max(1, int(math.Round(float64(h)*float64(e.sw)/float64(w))))
	e.minFace = max(1, cascadeWindow*e.dw/e.sw)
	e.dropFaces()
	e.speaker = 0
	e.frameN = uint64(max(0, e.cfg.Phase))
	e.settle()
	e.smallEdge, e.largeEdge = e.smallEdge[:0], e.largeEdge[:0]
	if e.cfg.FaceEvery > 0 {
		e.largeSched = newSchedule(e.dw, e.dh, math.MaxInt, e.cfg.FaceEvery, e.cfg.ScaleFactor)
		e.smallSched = schedule{}
		if e.sw > e.dw {
			below := int(math.Ceil(cascadeWindow * float64(e.sw) / float64(e.dw)))
			e.smallSched = newSchedule(e.sw, e.sh, below, smallCycles*e.cfg.FaceEvery, e.cfg.ScaleFactor)
		}
	}
}

// schedule is the face sizes scanned on one image and the band of them
// each frame of its cycle scans.
type schedule struct {
	sizes []int
	bands [][2]int // indices into sizes; {-1, -1} for none
}

// newSchedule lists the face sizes from the cascades' window up to the
// image's w×h (and under below) and splits them into n bands of
// consecutive sizes that each cost about the same. The cost of a size is
// taken as the square root of its window positions, (w/k − 23)·(h/k − 23)
// at scale k: measured with OpenCV 4.6's LBP cascade on one core, the cost
// per scale falls with the scale much more slowly than the positions do.
// Each size is scanned once a cycle: a face at a boundary between two
// bands gets its neighbours from both, the band before's hits at its
// largest size kept for the band after (groupHits).
func newSchedule(w, h, below, n int, scaleFactor float64) schedule {
	var s schedule
	var cost []float64
	for f := 1.0; ; f *= scaleFactor {
		px := int(math.Round(cascadeWindow * f))
		if px > min(w, h) || px >= below {
			break
		}
		if len(s.sizes) > 0 && s.sizes[len(s.sizes)-1] == px {
			continue
		}
		s.sizes = append(s.sizes, px)
		k := float64(px) / cascadeWindow
		cost = append(cost, math.Sqrt((float64(w)/k-cascadeWindow+1)*(float64(h)/k-cascadeWindow+1)))
	}
	s.bands = sizeBands(cost, n)
	return s
}

// band returns the smallest and largest face size frame n of the cycle
// scans; ok is false when it scans none.
func (s *schedule) band(n uint64) (lo, hi int, ok bool) {
	if len(s.bands) == 0 {
		return 0, 0, false
	}
	b := s.bands[n%uint64(len(s.bands))]
	if b[0] < 0 {
		return 0, 0, false
	}
	return s.sizes[b[0]], s.sizes[b[1]], true
}

// sizeBands splits sizes of the given costs into n bands of consecutive
// sizes, each a range of indices, that cost about the same; bands beyond
// the sizes are {-1, -1}. Each size is in one band: a band's hits are
// grouped with the hits at the largest size of the band before
// (groupHits), so a face at a boundary keeps its neighbours.
func sizeBands(cost []float64, n int) [][2]int {
	var total float64
	for _, c := range cost {
		total += c
	}
	bands := make([][2]int, 0, n)
	lo, acc := 0, 0.0
	for i, c := range cost {
		acc += c
		if len(bands) < n-1 && acc >= total*float64(len(bands)+1)/float64(n) {
			bands = append(bands, [2]int{lo, i})
			lo = i + 1
		}
	}
	if lo < len(cost) {
		bands = append(bands, [2]int{lo, len(cost) - 1})
	}
	for len(bands) < n { // more frames than sizes: the rest scan nothing
		bands = append(bands, [2]int{-1, -1})
	}
	return bands
}

// Push computes the features of frame f. It never panics on a malformed
// frame: such frames are counted and give no features.
func (e *Extractor) Push(f *av.Frame) *Values {
	v := &e.v
	*v = Values{}
	pre := e.pre
	e.pre = nil
	e.Counters.Frames++
	if f == nil {
		e.Counters.Missing++
		return v
	}
	if !frameOK(f) {
		e.Counters.BadFrame++
		return v
	}
	if f.Width != e.cfg.Width || f.Height != e.cfg.Height {
		e.Counters.ResolutionMismatch++
	}
	if f.Width != e.w || f.Height != e.h {
		e.restart(f.Width, f.Height)
	}

	img, err := e.frameMat(f)
	if err != nil {
		e.Counters.BadFrame++
		return v
	}
	defer img.Close()
	e.smallG, e.prevSG = e.prevSG, e.smallG
	e.detectionLuma(img, f.Format)
	if f.Format == av.Gray8 {
		gocv.Resize(img, &e.tiny, image.Pt(e.mw, e.mh), 0, 0, gocv.InterpolationArea)
	} else {
		gocv.Resize(e.small, &e.tiny, image.Pt(e.mw, e.mh), 0, 0, gocv.InterpolationArea)
	}

	// Foreground fraction: MOG2 marks shadows 127 and foreground 255.
	e.mog2.Apply(e.tiny, &e.fgMask)
	gocv.Threshold(e.fgMask, &e.fgBin, 200, 255, gocv.ThresholdBinary)
	v.Foreground = float64(gocv.CountNonZero(e.fgBin)) / float64(e.mw*e.mh)
	v.set(FeatForeground)

	if len(e.cascades) > 0 {
		if pre != nil && (pre.owner != e || pre.frame != f || pre.w != e.w || pre.h != e.h || pre.n != e.frameN) {
			pre = nil // not this frame's: detect here
		}
		if pre != nil {
			e.usedPre++
		}
		e.updateFaces(img, f.Format, pre)
		e.describeFaces(v)
	}
	e.haveSG = true
	e.frameN++
	return v
}

// frameOK reports whether f is a frame the extractor measures: a known
// format, at least 16×16, its pixels all there.
func frameOK(f *av.Frame) bool {
	bpp := f.Format.BytesPerPixel()
	return bpp > 0 && f.Width >= 16 && f.Height >= 16 &&
		f.Stride >= f.Width*bpp && len(f.Pix) >= f.Stride*(f.Height-1)+f.Width*bpp
}

// frameMat returns an OpenCV view of f's pixels, without a copy when rows
// are packed; the caller closes it.
func (e *Extractor) frameMat(f *av.Frame) (gocv.Mat, error) {
	bpp := f.Format.BytesPerPixel()
	var pix []byte
	if f.Stride == f.Width*bpp {
		pix = f.Pix[:f.Height*f.Stride]
	} else {
		need := f.Width * bpp * f.Height
		if cap(e.contig) < need {
			e.contig = make([]byte, need)
		}
		e.contig = e.contig[:need]
		for y := range f.Height {
			copy(e.contig[y*f.Width*bpp:(y+1)*f.Width*bpp], f.Pix[y*f.Stride:])
		}
		pix = e.contig
	}
	mt := gocv.MatTypeCV8UC3
	if f.Format == av.Gray8 {
		mt = gocv.MatTypeCV8UC1
	}
	return gocv.NewMatFromBytes(f.Height, f.Width, mt, pix)
}

// detectionLuma scales the frame to the detection size: e.smallG, and
// e.small, its BGR, for a colour frame.
func (e *Extractor) detectionLuma(img gocv.Mat, format av.PixelFormat) {
	if format == av.Gray8 {
		gocv.Resize(img, &e.smallG, image.Pt(e.dw, e.dh), 0, 0, gocv.InterpolationArea)
		return
	}
	gocv.Resize(img, &e.small, image.Pt(e.dw, e.dh), 0, 0, gocv.InterpolationArea)
	gocv.CvtColor(e.small, &e.smallG, gocv.ColorBGRToGray)
}

// PushFrame implements fuse.FrameFeatures: it pushes f and adds the
// features present to ev.
func (e *Extractor) PushFrame(f *av.Frame, ev map[string]float64) { e.Push(f).Evidence(ev) }

var _ fuse.FrameFeatures = (*Extractor)(nil)

// updateFaces tracks the faces into this frame, starts this frame's
// cascade passes (its bands of face sizes), verifies the faces found on
// the last frame, then matches the passes of the frame detectLag before.
// At the end of each cycle (after the passes of its last frame) it
// verifies the faces no band found again in it, and drops those verify
// does not find either, but for faces found twice before, which are
// dropped after two such cycles in a row.
//
// pre, when not nil, holds this frame's cascade passes, made ahead: the
// same detections as the worker's (a pure function of the pixels and the
// frame's place in the cycle).
func (e *Extractor) updateFaces(img gocv.Mat, format av.PixelFormat, pre *Scanned) {
	kept := e.faces[:0]
	for _, t := range e.faces {
		t.prevBox, t.havePrev, t.detected = t.box, true, false
		if e.track(&t) {
			kept = append(kept, t)
		} else {
			t.tmpl.Close()
			e.Counters.TrackLost++
		}
	}
	e.faces = kept
	var scan gocv.Mat
	haveScan := false
	scanned := func() gocv.Mat {
		if !haveScan {
			scan, haveScan = e.scanLuma(img, format), true
		}
		return scan
	}
	e.startPasses(pre, scanned)
	// verify checks face i over its neighbourhood once more.
	verify := func(i int) {
		t := &e.faces[i]
		t.checked = true
		if e.verify(scanned(), t.box) {
			t.hits++
			t.confirmed = true
		}
	}
	for i := range e.faces { // found on the last frame
		if !e.faces[i].checked {
			verify(i)
		}
	}
	p := e.lagged()
	if p == nil {
		return
	}
	if p.hasSmall {
		e.match(e.groupHits(p.small, &e.smallEdge, e.sw, p.sHi))
	}
	if p.hasLarge {
		e.match(e.groupHits(p.large, &e.largeEdge, e.dw, p.lHi))
	}
	if p.n%uint64(e.cfg.FaceEvery) == uint64(e.cfg.FaceEvery-1) { // the end of its cycle
		for i := range e.faces { // not found again in this cycle
			if !e.faces[i].confirmed {
				verify(i)
			}
		}
		kept := e.faces[:0]
		for _, t := range e.faces {
			// A face found twice may miss one cycle: the cascades miss a
			// real face now and then, and the tracker holds it meanwhile.
			if t.confirmed || (t.hits >= 2 && !t.missed) {
				t.missed = !t.confirmed
				t.confirmed = false
				kept = append(kept, t)
			} else {
				t.tmpl.Close()
				e.Counters.TrackLost++
			}
		}
		e.faces = kept
	}
}

// scanLuma returns the frame's luma at the size the detector scans.
func (e *Extractor) scanLuma(img gocv.Mat, format av.PixelFormat) gocv.Mat {
	switch {
	case e.sw == e.dw:
		return e.smallG
	case e.sw == e.w && format == av.Gray8:
		return img
	case e.sw == e.w:
		gocv.CvtColor(img, &e.scanG, gocv.ColorBGRToGray)
	case format == av.Gray8:
		gocv.Resize(img, &e.scanG, image.Pt(e.sw, e.sh), 0, 0, gocv.InterpolationArea)
	default:
		gocv.Resize(img, &e.scanS, image.Pt(e.sw, e.sh), 0, 0, gocv.InterpolationArea)
		gocv.CvtColor(e.scanS, &e.scanG, gocv.ColorBGRToGray)
	}
	return e.scanG
}

// rawPass runs every cascade over the face sizes lo…hi px of src, a luma
// image srcW px wide (the scan or the detection luma), and returns the
// windows they accept, ungrouped, in src pixels, in a buffer reused by the
// next pass. OpenCV's detector groups one call's windows; grouping them
// later instead (groupHits) lets a band's hits join the band before's.
func (e *Extractor) rawPass(src gocv.Mat, srcW, lo, hi int) []hit {
	gocv.EqualizeHist(src, &e.eq)
	flipped := false
	e.hits = e.hits[:0]
	for ci, c := range e.cascades {
		in := e.eq
		if c.mirrored {
			if !flipped {
				gocv.Flip(e.eq, &e.flip, 1)
				flipped = true
			}
			in = e.flip
		}
		for _, r := range c.cc.DetectMultiScaleWithParams(in, e.cfg.ScaleFactor, 0, 0, image.Pt(lo, lo), image.Pt(hi, hi)) {
			if c.mirrored {
				r = image.Rect(srcW-r.Max.X, r.Min.Y, srcW-r.Min.X, r.Max.Y)
			}
			e.hits = append(e.hits, hit{box: r, cascade: ci})
		}
	}
	return e.hits
}

// groupHits groups a band's hits, with the hits *edge holds (at the size
// beside the band's smallest, from the band before), as OpenCV's detector
// groups one call's: per cascade, MinNeighbors, eps 0.2. It returns the
// faces in detection pixels, merged (mergeFound), in a buffer reused by
// the next call, and leaves in *edge the band's hits at its largest size,
// hi px, for the band after.
func (e *Extractor) groupHits(hits []hit, edge *[]hit, srcW, hi int) []found {
	k := float64(e.dw) / float64(srcW)
	e.found = e.found[:0]
	for ci := range e.cascades {
		e.rects = e.rects[:0]
		for _, hs := range [2][]hit{*edge, hits} {
			for _, h := range hs {
				if h.cascade == ci {
					e.rects = append(e.rects, h.box)
				}
			}
		}
		if len(e.rects) == 0 {
			continue
		}
		for _, r := range gocv.GroupRectangles(e.rects, e.cfg.MinNeighbors, groupEps) {
			r = image.Rect(int(float64(r.Min.X)*k), int(float64(r.Min.Y)*k), int(math.Ceil(float64(r.Max.X)*k)), int(math.Ceil(float64(r.Max.Y)*k)))
			if r = r.Intersect(image.Rect(0, 0, e.dw, e.dh)); !r.Empty() {
				e.found = append(e.found, found{box: r, cascade: ci})
			}
		}
	}
	*edge = (*edge)[:0]
	for _, h := range hits {
		if h.box.Dx() == hi {
			*edge = append(*edge, h)
		}
	}
	e.found = mergeFound(e.found)
	return e.found
}

// groupEps is OpenCV's detector's: windows whose sides differ by up to
// 20 % of their size are one group.
const groupEps = 0.2

// match counts one detector run and matches its detections to the tracked
// faces by overlap: a match takes the detected box and a fresh template,
// and keeps its id; the rest are new faces.
func (e *Extractor) match(fs []found) {
	e.Counters.Detections++
	for _, d := range fs {
		r := d.box
		best, bestIoU := -1, 0.0
		for j := range e.faces {
			if iou := overlap(e.faces[j].box, r); sameFace(e.faces[j].box, r) && iou >= bestIoU {
				best, bestIoU = j, iou
			}
		}
		if best < 0 {
			if len(e.faces) >= e.cfg.MaxFaces {
				continue
			}
			e.nextID++
			e.faces = append(e.faces, track{id: e.nextID, tmpl: gocv.NewMat()})
			best = len(e.faces) - 1
		}
		t := &e.faces[best]
		t.detected, t.confirmed = true, true
		t.hits++
		// A face the tracker still holds keeps its tracked box: the
		// detector's box jitters by a few pixels from frame to frame, and
		// mouth motion would take that jitter for movement. A face the
		// tracker has drifted off takes the detector's box, and no mouth
		// motion this frame.
		if bestIoU < 0.5 {
			t.box, t.havePrev = r, false
		}
		region := e.smallG.Region(t.box)
		region.CopyTo(&t.tmpl)
		region.Close()
	}
}

// track moves a face's box to where its template matches best within a
// search window around it; false when it no longer matches.
func (e *Extractor) track(t *track) bool {
	r := t.box
	tw, th := t.tmpl.Cols(), t.tmpl.Rows()
	mx, my := max(4, tw/4), max(4, th/4)
	search := image.Rect(r.Min.X-mx, r.Min.Y-my, r.Min.X+tw+mx, r.Min.Y+th+my).Intersect(image.Rect(0, 0, e.dw, e.dh))
	if tw == 0 || search.Dx() < tw || search.Dy() < th {
		return false
	}
	region := e.smallG.Region(search)
	defer region.Close()
	gocv.MatchTemplate(region, t.tmpl, &e.res, gocv.TmCcoeffNormed, e.noMask)
	_, maxVal, _, at := gocv.MinMaxLoc(e.res)
	if !(maxVal >= 0.5) {
		return false
	}
	t.box = image.Rect(search.Min.X+at.X, search.Min.Y+at.Y, search.Min.X+at.X+tw, search.Min.Y+at.Y+th)
	return true
}

// verify reports whether the cascades find a face once more over box's
// neighbourhood (box, in detection pixels, and half its side around it),
// at sizes within a quarter of its own, on the scan luma: run on the frame
// after a face is found, a real face is found again and most false
// positives are not; run at the end of a cycle, it keeps a tracked face
// that no band found. It costs a small part of a band's scan.
func (e *Extractor) verify(scan gocv.Mat, box image.Rectangle) bool {
	k := float64(e.sw) / float64(e.dw)
	b := image.Rect(int(float64(box.Min.X)*k), int(float64(box.Min.Y)*k), int(math.Ceil(float64(box.Max.X)*k)), int(math.Ceil(float64(box.Max.Y)*k)))
	side := max(b.Dx(), b.Dy())
	roi := b.Inset(-side / 2).Intersect(image.Rect(0, 0, e.sw, e.sh))
	lo, hi := max(cascadeWindow*3/4, side*4/5), side*5/4
	if roi.Dx() < lo || roi.Dy() < lo {
		return false
	}
	region := scan.Region(roi)
	gocv.EqualizeHist(region, &e.vroi)
	region.Close()
	flipped := false
	for _, c := range e.cascades {
		src := e.vroi
		if c.mirrored {
			if !flipped {
				gocv.Flip(e.vroi, &e.vflip, 1)
				flipped = true
			}
			src = e.vflip
		}
		for _, r := range c.cc.DetectMultiScaleWithParams(src, 1.1, e.cfg.MinNeighbors, 0, image.Pt(lo, lo), image.Pt(hi, hi)) {
			if c.mirrored {
				r = image.Rect(roi.Dx()-r.Max.X, r.Min.Y, roi.Dx()-r.Min.X, r.Max.Y)
			}
			if sameFace(r.Add(roi.Min), b) {
				return true
			}
		}
	}
	return false
}

// toFrame converts a box in detection pixels to frame pixels.
func (e *Extractor) toFrame(r image.Rectangle) image.Rectangle {
	s := 1 / e.scale
	b := image.Rect(int(float64(r.Min.X)*s), int(float64(r.Min.Y)*s), int(math.Ceil(float64(r.Max.X)*s)), int(math.Ceil(float64(r.Max.Y)*s)))
	return b.Intersect(image.Rect(0, 0, e.w, e.h))
}

// mergeFound orders detections by cascade (the order configured), then
// position and size, so that the output does not depend on the order
// OpenCV's threads report them in, and keeps the first of each group that
// shows the same face.
func mergeFound(fs []found) []found {
	slices.SortFunc(fs, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.cascade, b.cascade), cmp.Compare(a.box.Min.Y, b.box.Min.Y), cmp.Compare(a.box.Min.X, b.box.Min.X),
			cmp.Compare(a.box.Dx(), b.box.Dx()), cmp.Compare(a.box.Dy(), b.box.Dy()))
	})
	kept := fs[:0]
	for _, f := range fs {
		dup := false
		for _, k := range kept {
			dup = dup || sameFace(k.box, f.box)
		}
		if !dup {
			kept = append(kept, f)
		}
	}
	return kept
}

// sameFace reports whether two boxes show the same face: they overlap by
// more than 30 % (IoU), or each one's centre lies inside the other (a
// profile cascade's box around a frontal cascade's).
func sameFace(a, b image.Rectangle) bool {
	ca, cb := a.Min.Add(a.Max).Div(2), b.Min.Add(b.Max).Div(2)
	return overlap(a, b) > 0.3 || (ca.In(b) && cb.In(a))
}

func overlap(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ai := float64(in.Dx() * in.Dy())
	return ai / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ai)
}

// describeFaces fills each face's bearing and mouth motion and the
// speaker candidate's summary.
func (e *Extractor) describeFaces(v *Values) {
	e.out = e.out[:0]
	var cur, prev []byte
	if g, err := e.smallG.DataPtrUint8(); err == nil {
		cur = g
	}
	if e.haveSG {
		if g, err := e.prevSG.DataPtrUint8(); err == nil {
			prev = g
		}
	}
	for _, t := range e.faces {
		box := e.toFrame(t.box)
		f := Face{ID: t.id, Box: box, Detected: t.detected}
		f.BearingDeg = e.bearing(float64(box.Min.X+box.Max.X) / 2)
		f.BearingStdDeg = (e.bearing(float64(box.Max.X)) - e.bearing(float64(box.Min.X))) / 4
		if t.havePrev && cur != nil && len(prev) == len(cur) {
			f.MouthMotion, f.HaveMouth = mouthMotion(cur, prev, e.dw, e.dh, t.box, t.prevBox)
		}
		e.out = append(e.out, f)
	}
	v.Faces = e.out
	v.set(FeatFaces)
	if i := e.candidate(); i >= 0 {
		e.out[i].Candidate = true
		f := e.out[i]
		v.FaceBearingDeg, v.FaceBearingStdDeg = f.BearingDeg, f.BearingStdDeg
		v.set(FeatFaceBearing)
		if f.HaveMouth {
			v.MouthMotion = f.MouthMotion
			v.set(FeatMouth)
		}
	}
}

// minMouthFacePx is the smallest face, in detection pixels, whose mouth
// motion is measured: its mouth region is then 8×4 pixels (a face of 32
// px in a 640 px frame).
const minMouthFacePx = 16

// switchArea is how many times larger than the speaker candidate another
// face must be to take its place.
const switchArea = 2

// candidate returns the index in e.faces of the speaker candidate, the
// face whose bearing and mouth motion the summary reports, or -1. The
// mouth–voice synchrony correlates seconds of one face's mouth motion, so
// the candidate keeps its identity while it is tracked; another face
// replaces it only when it is switchArea times larger and was found twice,
// never for a few pixels of a box's jitter. A face becomes the candidate
// when the detector has found it twice (a false positive seldom returns),
// or once when it is at least twice the smallest size scanned: most of the
// windows a cascade tries are small, and so are most of its false
// positives.
func (e *Extractor) candidate() int {
	minSide := 2 * e.minFace
	cur, best, bestSure := -1, -1, -1
	area := func(i int) int { return e.faces[i].box.Dx() * e.faces[i].box.Dy() }
	for i, t := range e.faces {
		if t.id == e.speaker {
			cur = i
		}
		if t.hits >= 2 && (bestSure < 0 || area(i) > area(bestSure)) {
			bestSure = i
		}
		if (t.hits >= 2 || min(t.box.Dx(), t.box.Dy()) >= minSide) && (best < 0 || area(i) > area(best)) {
			best = i
		}
	}
	switch {
	case cur < 0:
		cur = best
	case bestSure >= 0 && area(bestSure) > switchArea*area(cur):
		cur = bestSure
	}
	e.speaker = 0
	if cur >= 0 {
		e.speaker = e.faces[cur].id
	}
	return cur
}

// bearing converts an image column to a bearing by the pinhole model.
func (e *Extractor) bearing(x float64) float64 {
	return math.Atan((x-float64(e.w)/2)/e.focalPx) * 180 / math.Pi
}

// mouthMotion measures the mean absolute luma change of the mouth region
// (the middle half of the face's width, 65–95 % of its height) between the
// face's box in this frame and its box in the last, so that the head's
// movement is followed, minus the same measure over the upper face (its
// middle half, 15–45 %), which any residual head motion or lighting change
// moves as much as the mouth. A face under minMouthFacePx, whose mouth
// region is a few pixels, has none.
func mouthMotion(cur, prev []byte, w, h int, box, prevBox image.Rectangle) (float64, bool) {
	if min(box.Dx(), box.Dy()) < minMouthFacePx {
		return 0, false
	}
	dx := prevBox.Min.X + prevBox.Dx()/2 - (box.Min.X + box.Dx()/2)
	dy := prevBox.Min.Y + prevBox.Dy()/2 - (box.Min.Y + box.Dy()/2)
	region := func(fy0, fy1 float64) image.Rectangle {
		return image.Rect(box.Min.X+box.Dx()/4, box.Min.Y+int(fy0*float64(box.Dy())), box.Max.X-box.Dx()/4, box.Min.Y+int(fy1*float64(box.Dy())))
	}
	bounds := image.Rect(0, 0, w, h)
	diff := func(r image.Rectangle) (float64, bool) {
		pr := r.Add(image.Pt(dx, dy))
		if r.Empty() || !r.In(bounds) || !pr.In(bounds) {
			return 0, false
		}
		var sum int
		for y := r.Min.Y; y < r.Max.Y; y++ {
			a := cur[y*w+r.Min.X : y*w+r.Max.X]
			b := prev[(y+dy)*w+pr.Min.X : (y+dy)*w+pr.Max.X]
			for i, p := range a {
				d := int(p) - int(b[i])
				if d < 0 {
					d = -d
				}
				sum += d
			}
		}
		return float64(sum) / float64(r.Dx()*r.Dy()), true
	}
	mouth, ok1 := diff(region(0.65, 0.95))
	upper, ok2 := diff(region(0.15, 0.45))
	if !ok1 || !ok2 {
		return 0, false
	}
	return max(0, mouth-upper), true
}
