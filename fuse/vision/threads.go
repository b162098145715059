//go:build !nosensors

package vision

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
void fusiond_opencv_set_threads(int n);
int fusiond_opencv_threads(void);
*/
import "C"

// SetOpenCVThreads sets the threads OpenCV's parallel loops use, process
// wide (cv::setNumThreads): 1 runs them on the calling thread.
func SetOpenCVThreads(n int) { C.fusiond_opencv_set_threads(C.int(n)) }

// OpenCVThreads returns the threads OpenCV's parallel loops use.
func OpenCVThreads() int { return int(C.fusiond_opencv_threads()) }
