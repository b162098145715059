package sync

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Policy is how the cameras' frames are grouped into the sets that trigger
// bundles (sync.policy).
type Policy string

// The policies. Each set is one frame per camera; its time is its newest
// frame's capture time, and the microphone's audio window is taken around
// that time.
const (
	// PolicyWindow: one camera, every frame its own set (FrameSync's own
	// policy, the default).
	PolicyWindow Policy = "window"
	// PolicyApproximate: ROS ApproximateTime over the cameras (ApproxSync,
	// with its deadlines: a camera silent for MaxWaitNS is idle and sets
	// go on without it).
	PolicyApproximate Policy = "approximate"
	// PolicyExact: ROS ExactTime over the cameras, for hardware-triggered
	// rigs whose frames carry equal capture times.
	PolicyExact Policy = "exact"
)

// FrameSetsConfig configures FrameSets.
type FrameSetsConfig struct {
	Policy  Policy // "" is PolicyWindow
	Cameras int    // 1..MaxApproxStreams; window takes one
	// QueueSize is how many frames (approximate: per camera) wait for
	// their set.
	QueueSize int
	// MaxWaitNS: with approximate, a camera silent this long in arrival
	// time is idle, and sets go on without it (0: never).
	MaxWaitNS int64
}

// FrameSets groups the frames of several cameras into sets, one frame per
// camera, by policy. With one camera every frame is a set of its own
// whatever the policy, so that the bundles are the window policy's. It
// owns the frames it holds: each leaves in a set, or through drop.
type FrameSets struct {
	policy Policy
	n      int
	approx *ApproxSync
	exact  *Exact
	held   [][]*av.Frame // per camera, the frames in the policy, by ID
	ids    [][]uint64
	nextID uint64
	set    []*av.Frame
	emit   func(set []*av.Frame, timeNS int64)
	drop   func(*av.Frame)
}

// NewFrameSets returns the policy. emit gets each set (one frame per
// camera, nil for a camera missing from it), which it then owns, with the
// set's time; drop gets each frame that will never be in a set.
func NewFrameSets(cfg FrameSetsConfig, emit func(set []*av.Frame, timeNS int64), drop func(*av.Frame)) (*FrameSets, error) {
	if cfg.Policy == "" {
		cfg.Policy = PolicyWindow
	}
	if cfg.Cameras < 1 || cfg.Cameras > MaxApproxStreams {
		return nil, fmt.Errorf("%w: %d cameras, want 1..%d", ErrConfig, cfg.Cameras, MaxApproxStreams)
	}
	s := &FrameSets{policy: cfg.Policy, n: cfg.Cameras, emit: emit, drop: drop, set: make([]*av.Frame, cfg.Cameras),
		held: make([][]*av.Frame, cfg.Cameras), ids: make([][]uint64, cfg.Cameras)}
	var err error
	switch cfg.Policy {
	case PolicyWindow:
		if cfg.Cameras != 1 {
			return nil, fmt.Errorf("%w: the window policy takes one camera, not %d (approximate or exact group several)", ErrConfig, cfg.Cameras)
		}
	case PolicyApproximate:
		if cfg.Cameras > 1 {
			s.approx, err = NewApproxSync(ApproxSyncConfig{ApproxConfig: ApproxConfig{Streams: cfg.Cameras, QueueSize: cfg.QueueSize, AgePenalty: 0.1},
				MaxWaitNS: cfg.MaxWaitNS}, s.emitApprox, s.dropMember)
		}
	case PolicyExact:
		if cfg.Cameras > 1 {
			s.exact, err = NewExact(ExactConfig{Streams: cfg.Cameras, QueueSize: cfg.QueueSize}, func(set []Member) { s.emitApprox(set, 0) }, s.dropMember)
		}
	default:
		return nil, fmt.Errorf("%w: policy %q is not window, approximate or exact", ErrConfig, cfg.Policy)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Add takes camera's frame f, which arrived at f.ArrivalNS, and emits the
// sets it completes.
func (s *FrameSets) Add(camera int, f *av.Frame) error {
	if camera < 0 || camera >= s.n {
		return ErrStream
	}
	if s.approx == nil && s.exact == nil { // one camera
		s.set[0] = f
		s.emit(s.set, f.CaptureNS)
		return nil
	}
	s.nextID++
	s.held[camera] = append(s.held[camera], f)
	s.ids[camera] = append(s.ids[camera], s.nextID)
	m := Member{TimeNS: f.CaptureNS, ID: s.nextID}
	if s.approx != nil {
		return s.approx.Add(camera, m, f.ArrivalNS)
	}
	return s.exact.Add(camera, m)
}

// Advance moves arrival time to nowNS with no frame, so that cameras that
// stopped are found idle (approximate).
func (s *FrameSets) Advance(nowNS int64) {
	if s.approx != nil {
		s.approx.Advance(nowNS)
	}
}

// Flush gives every frame still waiting for its set to drop, at the end
// of the input.
func (s *FrameSets) Flush() {
	for i := range s.held {
		for _, f := range s.held[i] {
			s.drop(f)
		}
		s.held[i], s.ids[i] = s.held[i][:0], s.ids[i][:0]
	}
}

// take removes and returns the frame of camera with id.
func (s *FrameSets) take(camera int, id uint64) *av.Frame {
	for k, x := range s.ids[camera] {
		if x == id {
			f := s.held[camera][k]
			s.held[camera] = append(s.held[camera][:k], s.held[camera][k+1:]...)
			s.ids[camera] = append(s.ids[camera][:k], s.ids[camera][k+1:]...)
			return f
		}
	}
	return nil
}

func (s *FrameSets) emitApprox(set []Member, missing uint16) {
	var t int64
	have := false
	for i, m := range set {
		s.set[i] = nil
		if missing&(1<<i) != 0 {
			continue
		}
		if f := s.take(i, m.ID); f != nil {
			s.set[i] = f
			if !have || f.CaptureNS > t {
				t, have = f.CaptureNS, true
			}
		}
	}
	if have {
		s.emit(s.set, t)
	}
}

func (s *FrameSets) dropMember(camera int, m Member) {
	if f := s.take(camera, m.ID); f != nil {
		s.drop(f)
	}
}
