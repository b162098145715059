//go:build matprofile && !nosensors

package camera_test

import "gocv.io/x/gocv"

// liveMats returns how many gocv Mats are open (-tags matprofile).
func liveMats() int { return gocv.MatProfile.Count() }
