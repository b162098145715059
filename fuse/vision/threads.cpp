//go:build !nosensors

#include <opencv2/core.hpp>

extern "C" void fusiond_opencv_set_threads(int n) { cv::setNumThreads(n); }

extern "C" int fusiond_opencv_threads(void) { return cv::getNumThreads(); }
