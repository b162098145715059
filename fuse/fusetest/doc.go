// Package fusetest holds the Backend contract: one suite of known-answer and
// reference tests that every fuse.Backend must pass, with a stated tolerance
// per operation, and one set of workloads that every backend is benchmarked
// on. The CPU backend's tests and the CUDA backend's tests both call it, so
// the two cannot drift apart.
//
// The reference answers are computed here, by naive float64 code (direct
// DFTs, triple loops), independent of any backend.
package fusetest
