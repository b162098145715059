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

// Bundle is one aligned moment: a trigger time, the frames taken at it
// (one per camera) and the audio around it (one window per microphone). A
// modality that is absent is listed in Missing, never silently zero; a
// stream missing from the moment is listed in MissingStreams.
//
// Frame and Audio are the first camera's and the first microphone's, so
// that single-camera code reads them as ever; MoreFrames and MoreAudio hold
// the others, in configuration order.
type Bundle struct {
	Seq    uint64
	TimeNS int64 // capture time the bundle is aligned on
	// Frame is the first camera's frame; nil when it is missing.
	Frame *Frame
	// MoreFrames are the other cameras' frames of the set, nil for a
	// camera missing from it (empty with one camera).
	MoreFrames []*Frame
	// Audio is the first microphone's window; Audio.Data is nil when
	// audio is missing.
	Audio AudioSlice
	// MoreAudio are the other microphones' windows around TimeNS (empty
	// with one microphone).
	MoreAudio []AudioSlice
	// Missing lists the modalities absent from the bundle: video when no
	// camera has a frame in it, audio when the first microphone's
	// coverage is too low.
	Missing []Modality
	// MissingStreams names each camera and microphone absent from the
	// bundle (with several cameras or microphones), in configuration
	// order.
	MissingStreams []StreamID
	Stamps         Stamps

	pool *Pool[Bundle]
}

// Cameras returns the number of camera slots in the bundle (1 + len(MoreFrames)).
func (b *Bundle) Cameras() int { return 1 + len(b.MoreFrames) }

// CameraFrame returns camera i's frame (0 is Frame), nil when it is
// missing.
func (b *Bundle) CameraFrame(i int) *Frame {
	if i == 0 {
		return b.Frame
	}
	return b.MoreFrames[i-1]
}

// Microphones returns the number of microphone windows in the bundle
// (1 + len(MoreAudio)).
func (b *Bundle) Microphones() int { return 1 + len(b.MoreAudio) }

// MicAudio returns microphone i's window (0 is Audio).
func (b *Bundle) MicAudio(i int) *AudioSlice {
	if i == 0 {
		return &b.Audio
	}
	return &b.MoreAudio[i-1]
}

// BundlePool hands out bundles whose audio buffers hold a fixed number of
// samples.
type BundlePool struct {
	pool    *Pool[Bundle]
	cameras int
	more    int // microphones beyond the first
}

// NewBundlePool returns a pool of bundles with room for audioSamples
// interleaved samples each.
func NewBundlePool(audioSamples, capacity int) *BundlePool {
	return NewBundlePoolN(1, []int{audioSamples}, capacity)
}

// NewBundlePoolN returns a pool of bundles for cameras cameras and one
// microphone per entry of audioSamples (its window's interleaved samples;
// none is one microphone of no samples).
func NewBundlePoolN(cameras int, audioSamples []int, capacity int) *BundlePool {
	if len(audioSamples) == 0 {
		audioSamples = []int{0}
	}
	cameras = max(cameras, 1)
	return &BundlePool{cameras: cameras, more: len(audioSamples) - 1, pool: NewPool(capacity, func() *Bundle {
		b := &Bundle{Audio: AudioSlice{Data: make([]float32, audioSamples[0])}, Missing: make([]Modality, 0, 2)}
		if cameras > 1 {
			b.MoreFrames = make([]*Frame, cameras-1)
		}
		if len(audioSamples) > 1 {
			b.MoreAudio = make([]AudioSlice, len(audioSamples)-1)
			for i, n := range audioSamples[1:] {
				b.MoreAudio[i].Data = make([]float32, n)
			}
		}
		if cameras > 1 || len(audioSamples) > 1 {
			b.MissingStreams = make([]StreamID, 0, cameras+len(audioSamples))
		}
		return b
	})}
}

// Get returns an empty bundle. Its audio windows have the pool's lengths.
func (bp *BundlePool) Get() *Bundle {
	b := bp.pool.Get()
	data := b.Audio.Data[:cap(b.Audio.Data)]
	more, moreAudio := b.MoreFrames, b.MoreAudio
	clear(more)
	for i := range moreAudio {
		moreAudio[i] = AudioSlice{Data: moreAudio[i].Data[:cap(moreAudio[i].Data)]}
	}
	*b = Bundle{Audio: AudioSlice{Data: data}, MoreFrames: more, MoreAudio: moreAudio, Missing: b.Missing[:0],
		MissingStreams: b.MissingStreams[:0], pool: bp.pool}
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

// Release releases the bundle's frames and returns the bundle to its pool.
func (b *Bundle) Release() {
	if b == nil {
		return
	}
	b.Frame.Release()
	b.Frame = nil
	for i, f := range b.MoreFrames {
		f.Release()
		b.MoreFrames[i] = nil
	}
	if b.pool == nil {
		return
	}
	p := b.pool
	b.pool = nil
	p.Put(b)
}
