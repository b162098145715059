package fuse

// Segment kinds of a tick's work on the CPU.
const (
	segMotion = iota // block rows of all frames
	segPower         // rows of one microphone's spectra
	segGCC           // one microphone's GCC-PHAT pairs
	segMel           // one microphone's log-mel rows
	segMFCC          // one microphone's MFCC rows
)

// segment is a run of units (rows) of one kind, numbered from first in the
// phase's partition.
type segment struct{ kind, mic, first, n int }

// Compute implements Backend. The work goes in three phases, each split
// across the cores as one run of units: first everything that needs only
// the inputs (motion block rows of every frame, spectra rows and GCC-PHAT
// pairs of every microphone, together), then the log-mel rows, then the
// MFCC rows. Each unit is computed exactly as by the single operations.
func (c *CPU) Compute(w *TickWork) error {
	var err error
	if c.args, err = checkTick(w, c.args); err != nil {
		return err
	}
	m := &w.Motion
	c.segs = c.segs[:0]
	total := 0
	if len(m.Frames) > 0 {
		c.rowOf = c.rowOf[:0]
		for _, f := range m.Frames {
			c.rowOf = append(c.rowOf, total)
			total += f.Height / m.Cell
		}
		c.frames, c.cell, c.grids, c.prevs, c.diffs = m.Frames, m.Cell, m.Grids, m.Prev, m.Diffs
		c.segs = append(c.segs, segment{kind: segMotion, n: total})
	}
	for i, a := range c.args {
		c.segs = append(c.segs, segment{kind: segPower, mic: i, first: total, n: a.rows})
		total += a.rows
		if a.gcc != nil {
			c.segs = append(c.segs, segment{kind: segGCC, mic: i, first: total, n: a.gccRows})
			total += a.gccRows
		}
	}
	c.split(total, c.tickFn)
	for _, kind := range []int{segMel, segMFCC} {
		c.segs, total = c.segs[:0], 0
		for i, a := range c.args {
			if a.mel != nil {
				c.segs = append(c.segs, segment{kind: kind, mic: i, first: total, n: a.melRows})
				total += a.melRows
			}
		}
		c.split(total, c.tickFn)
	}
	c.frames, c.grids, c.prevs, c.diffs = nil, nil, nil, nil
	return nil
}

// tickRows runs units lo..hi-1 of the phase in c.segs.
func (c *CPU) tickRows(part, lo, hi int) {
	for _, s := range c.segs {
		a, b := max(lo, s.first)-s.first, min(hi, s.first+s.n)-s.first
		if a >= b {
			continue
		}
		if s.kind == segMotion {
			c.motionRows(part, a, b)
			continue
		}
		g := &c.args[s.mic]
		switch s.kind {
		case segPower:
			powerRange(c.parts[part].scratch(g.fftSize), g.power, g.frames, g.window, g.fftSize, a, b)
		case segGCC:
			gccRange(c.parts[part].scratch(g.gccN), g.gcc, g.gccA, g.gccB, g.gccN, g.maxLag, a, b)
		case segMel:
			melRange(g.mel, g.power, g.fb, g.bins, g.nMel, a, b)
		case segMFCC:
			denseRange(g.mfcc, g.mel, g.dct, nil, g.nMel, g.nMFCC, Linear, a, b)
		}
	}
}

// audioWork does one microphone's spectra, log-mel and MFCC (the CUDA
// backend's fallback).
func (c *CPU) audioWork(g *audioArgs) {
	c.powerSpectra(g.power, g.frames, g.rows, g.fftSize, g.window)
	if g.mel != nil {
		c.logMel(g.mel, g.power[:g.melRows*g.bins], g.melRows, g.bins, g.fb, g.nMel)
		c.dense(g.mfcc, g.mel, g.melRows, g.nMel, g.dct, nil, g.nMFCC, Linear)
	}
}
