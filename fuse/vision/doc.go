// Package vision computes per-frame visual features with OpenCV (gocv):
// the fraction of the frame MOG2 marks foreground, faces found by Debian's LBP or Haar
// cascades (opencv-data) every few frames and tracked by template matching
// in between, each face's bearing from its image position and the camera's
// field of view, and its mouth region's motion corrected for head motion.
// A frame's motion grid is not here: fuse.Activity measures it for every
// camera in the tick's one Backend call (fuse.TickWork).
//
// It is the one place fusiond's features touch cgo: package fuse, which
// the CUDA backend's static test binaries are built from, imports no cgo.
// Every feature is documented in fuse.FeatureTable (docs/FEATURES.md); one
// that cannot be computed for a frame is reported missing (Values.Has),
// never as zero.
package vision
