//go:build !nosensors

#include <opencv2/core/utils/logger.hpp>

extern "C" void fusiond_opencv_log_errors_only(void) {
	cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}
