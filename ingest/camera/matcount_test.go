//go:build !matprofile && !nosensors

package camera_test

// liveMats returns -1: Mats are only counted with -tags matprofile.
func liveMats() int { return -1 }
