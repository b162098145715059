// Package realbench builds the composite clips of the real-media benchmark
// (scripts/make-real-bench.sh, docs/DECISIONS.md "Real-media benchmark"):
// a real face photograph whose mouth opens with a real speech recording's
// amplitude envelope, placed in real video.
//
// Envelope turns the clean voice into a mouth opening per video frame;
// Head cuts the face out of the photograph (found by OpenCV's Haar frontal
// cascade) and draws it, mouth opened, over a background frame. Everything
// is a function of its inputs: the same files give the same frames.
// The compositor program (./compositor) writes the frames as raw BGR for
// ffmpeg to encode and mux with the sound.
package realbench
