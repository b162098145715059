package fuse

import "gorgonia.org/tensor"

// TickWork is the Backend work due at one tick, for every camera and
// microphone, given to Backend.Compute in one call: the motion grids of the
// cameras' frames and, for each microphone, the power spectra of its
// analysis frames, the log-mel and MFCC of the first of them, and its
// GCC-PHAT pairs. The fusion head's Dense over every camera's step evidence
// is a second call (Backend.Dense): its inputs are features that OpenCV
// computes from the frames between the two (faces, mouths, appearance), so
// it cannot join the first.
//
// Like every Backend argument, the tensors are built once over the
// caller's buffers and reused; a TickWork allocates nothing per tick.
type TickWork struct {
	Motion MotionWork
	Audio  []AudioWork
}

// MotionWork is MotionGrids' arguments (Backend.MotionGrids).
type MotionWork struct {
	Frames             []FrameRef
	Cell               int
	Grids, Prev, Diffs []*tensor.Dense
}

// AudioWork is one microphone's audio work of a tick.
type AudioWork struct {
	// Power = |FFT(Frames·Window)|² (Backend.PowerSpectra): Frames is
	// rows × fftSize, Power rows × (fftSize/2+1).
	Frames, Window, Power *tensor.Dense
	// LogMel = ln(max(MelFloor, P·Filterbankᵀ)) of P, the first
	// LogMel.Shape()[0] rows of Power (Backend.LogMel); MFCC = LogMel·DCT
	// (Backend.Dense, no bias, linear). LogMel nil: none.
	Filterbank, LogMel, DCT, MFCC *tensor.Dense
	// GCC-PHAT of each row of GCCA against GCCB into GCC, lags ±MaxLag
	// (Backend.GCCPHAT). GCC nil: none.
	GCCA, GCCB, GCC *tensor.Dense
	MaxLag          int
}

// audioArgs is an AudioWork checked and unwrapped.
type audioArgs struct {
	rows, fftSize, bins   int
	frames, window, power []float32
	melRows, nMel, nMFCC  int
	fb, mel, dct, mfcc    []float32
	gccRows, gccN, maxLag int
	gccA, gccB, gcc       []float32
}

// checkTick checks every tensor of w against the others and unwraps the
// audio work into args (grown, reused).
func checkTick(w *TickWork, args []audioArgs) ([]audioArgs, error) {
	m := &w.Motion
	if len(m.Frames) > 0 || len(m.Grids) > 0 {
		if err := checkFrames(m.Frames, m.Cell, m.Grids, m.Prev, m.Diffs); err != nil {
			return args, err
		}
	}
	args = args[:0]
	for i := range w.Audio {
		a := &w.Audio[i]
		var g audioArgs
		var err error
		if g.rows, g.fftSize, g.power, g.frames, g.window, err = spectraArgs(a.Power, a.Frames, a.Window); err != nil {
			return args, err
		}
		g.bins = g.fftSize/2 + 1
		if a.LogMel != nil {
			var ok, okB, okD, okM bool
			var fbBins, dctIn, mr, mc int
			g.melRows, g.nMel, g.mel, ok = matrix(a.LogMel)
			_, fbBins, g.fb, okB = matrix(a.Filterbank)
			dctIn, g.nMFCC, g.dct, okD = matrix(a.DCT)
			mr, mc, g.mfcc, okM = matrix(a.MFCC)
			if !ok || !okB || !okD || !okM || g.melRows > g.rows || g.nMel < 1 || a.Filterbank.Shape()[0] != g.nMel || fbBins != g.bins ||
				dctIn != g.nMel || mr != g.melRows || mc != g.nMFCC {
				return args, shapeErr("Compute", "audio %d: power %s log-mel %s filterbank %s dct %s mfcc %s", i,
					describe(a.Power), describe(a.LogMel), describe(a.Filterbank), describe(a.DCT), describe(a.MFCC))
			}
		}
		if a.GCC != nil {
			g.maxLag = a.MaxLag
			if g.gccRows, g.gccN, g.gcc, g.gccA, g.gccB, err = gccArgs(a.GCC, a.GCCA, a.GCCB, a.MaxLag); err != nil {
				return args, err
			}
		}
		args = append(args, g)
	}
	return args, nil
}
