package av

// Stage names a point on a bundle's way through the pipeline, for latency.
type Stage int

// The stages a bundle passes, in order.
const (
	StageCapture Stage = iota // the trigger sample's capture time
	StageArrival              // the arrival of the last sample the bundle needed
	StageSync                 // the synchroniser emitted the bundle
	StageFuse                 // fusion finished with the bundle
	StagePublish              // the decision was handed to the sinks
	NumStages
)

var stageNames = [NumStages]string{"capture", "arrival", "sync", "fuse", "publish"}

func (s Stage) String() string {
	if s < 0 || s >= NumStages {
		return "stage?"
	}
	return stageNames[s]
}

// Stamps holds the pipeline time at which a bundle passed each stage; zero
// means it has not (yet).
type Stamps [NumStages]int64

// AudioSlice is the audio that belongs to a bundle: a run of frames copied
// out of the stream's chunks.
type AudioSlice struct {
	Stream   StreamID
	StartNS  int64 // capture time of the first frame
	RateHz   int
	Channels int
	Data     []float32 // interleaved; its length is fixed by the window
	// Covered is the number of frames in Data that came from real chunks;
	// the rest are zeros standing in for audio that never arrived.
	Covered int
}

// Frames returns the number of audio frames in the slice.
func (s *AudioSlice) Frames() int {
	if s.Channels == 0 {
		return 0
	}
	return len(s.Data) / s.Channels
}

// Coverage returns the fraction of the slice backed by real audio.
func (s *AudioSlice) Coverage() float64 {
	n := s.Frames()
	if n == 0 {
		return 0
	}
	return float64(s.Covered) / float64(n)
}

// Bundle is one aligned moment: a trigger time, the frame taken at it and the
// audio around it. A modality that is absent is listed in Missing, never
// silently zero.
type Bundle struct {
	Seq    uint64
	TimeNS int64 // capture time the bundle is aligned on
	// Frame is nil when video is missing.
	Frame *Frame
	// Audio.Data is nil when audio is missing.
	Audio   AudioSlice
	Missing []Modality
	Stamps  Stamps

	pool *Pool[Bundle]
}

// BundlePool hands out bundles whose audio buffers hold a fixed number of
// samples.
type BundlePool struct{ pool *Pool[Bundle] }

// NewBundlePool returns a pool of bundles with room for audioSamples
// interleaved samples each.
func NewBundlePool(audioSamples, capacity int) *BundlePool {
	return &BundlePool{pool: NewPool(capacity, func() *Bundle {
		return &Bundle{Audio: AudioSlice{Data: make([]float32, audioSamples)}, Missing: make([]Modality, 0, 2)}
	})}
}

// Get returns an empty bundle. Its Audio.Data has the pool's length.
func (bp *BundlePool) Get() *Bundle {
	b := bp.pool.Get()
	data := b.Audio.Data[:cap(b.Audio.Data)]
	*b = Bundle{Audio: AudioSlice{Data: data}, Missing: b.Missing[:0], pool: bp.pool}
	return b
}

// Has reports whether the bundle carries modality m.
func (b *Bundle) Has(m Modality) bool {
	for _, x := range b.Missing {
		if x == m {
			return false
		}
	}
	return true
}

// Release releases the bundle's frame and returns the bundle to its pool.
func (b *Bundle) Release() {
	if b == nil {
		return
	}
	b.Frame.Release()
	b.Frame = nil
	if b.pool == nil {
		return
	}
	p := b.pool
	b.pool = nil
	p.Put(b)
}
