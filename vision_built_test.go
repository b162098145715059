//go:build !nosensors

package fusiond_test

// visionBuilt: OpenCV is linked, so the visual features run.
const visionBuilt = true
