package fuse

import "math"

// hzToMel and melToHz are the HTK mel scale.
func hzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }
func melToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// MelFilterbank returns nMel triangular filters (HTK mel scale, peak 1) over
// the bins = fftSize/2+1 bins of a power spectrum at rateHz, spanning lowHz
// to highHz, row-major nMel × bins: the layout Backend.LogMel takes.
func MelFilterbank(nMel, fftSize, rateHz int, lowHz, highHz float64) []float32 {
	bins := fftSize/2 + 1
	fb := make([]float32, nMel*bins)
	lo, hi := hzToMel(lowHz), hzToMel(highHz)
	edges := make([]float64, nMel+2)
	for i := range edges {
		edges[i] = melToHz(lo + (hi-lo)*float64(i)/float64(nMel+1))
	}
	binHz := float64(rateHz) / float64(fftSize)
	for m := range nMel {
		l, c, r := edges[m], edges[m+1], edges[m+2]
		for k := range bins {
			f := float64(k) * binHz
			var w float64
			switch {
			case f > l && f <= c:
				w = (f - l) / (c - l)
			case f > c && f < r:
				w = (r - f) / (r - c)
			}
			fb[m*bins+k] = float32(w)
		}
	}
	return fb
}

// DCTMatrix returns the orthonormal DCT-II from n inputs to the first k
// coefficients, as the in × out matrix Backend.Dense takes.
func DCTMatrix(n, k int) []float32 {
	w := make([]float32, n*k)
	for i := range n {
		for j := range k {
			s := math.Sqrt(2 / float64(n))
			if j == 0 {
				s = math.Sqrt(1 / float64(n))
			}
			w[i*k+j] = float32(s * math.Cos(math.Pi*float64(j)*(float64(i)+0.5)/float64(n)))
		}
	}
	return w
}

// HannWindow returns the periodic Hann window of n points.
func HannWindow(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	return w
}
