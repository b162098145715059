//go:build nosensors

package fusiond_test

// visionBuilt: a nosensors build has no visual features.
const visionBuilt = false
