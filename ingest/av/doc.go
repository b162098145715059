// Package av is fusiond's shared vocabulary: the small set of types that every
// stage speaks.
//
// A pipeline moves Samples (video Frames and AudioChunks) from ingest to sync,
// Bundles from sync to fuse, and Decisions from fuse to the sinks. Every sample
// carries its stream, a per-stream sequence number, its capture time (the best
// estimate of when the sensor saw it) and its arrival time, as int64
// nanoseconds in one pipeline clock domain: Unix epoch, advanced by the
// monotonic clock so that wall-clock jumps do not move it.
//
// Buffers move by ownership. Frames, audio chunks and bundles come from a
// bounded Pool and go back to it through Release; whoever holds a value owns
// it and must either pass it on or release it, exactly once.
//
// Stages are connected by Queues: bounded channels with a named capacity and
// an Overflow policy. Live capture uses DropOldest (never block, count the
// drop); replay uses Block (lossless).
//
// Only RealClock reads the wall clock; everything else takes a Clock, so tests
// and replay drive time with a VirtualClock.
//
// The package is a leaf: it imports nothing from fusiond, and every stage may
// import it.
package av
