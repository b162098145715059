//go:build !nosensors

package camera

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
void fusiond_opencv_log_errors_only(void);
*/
import "C"

import (
	"os"
	"sync"
)

var quietOnce sync.Once

// quietOpenCV keeps OpenCV to errors: it warns on every GStreamer open
// ("Cannot query video position") and every failed open, which fusiond
// reports itself. A user who sets OPENCV_LOG_LEVEL keeps that level.
func quietOpenCV() {
	quietOnce.Do(func() {
		if os.Getenv("OPENCV_LOG_LEVEL") == "" {
			C.fusiond_opencv_log_errors_only()
		}
	})
}
