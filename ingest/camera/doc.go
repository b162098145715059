// Package camera captures video through OpenCV (gocv v0.31.0 over Debian
// 12's OpenCV 4.6): a V4L2 device by index or /dev/videoN, a URL (RTSP,
// HTTP MJPEG), a GStreamer pipeline ending in appsink, or a video file.
//
// Each Camera reads into one reused gocv.Mat and copies every frame out
// into a pooled av.Frame (BGR24, or Gray8 for one-channel pipelines), so
// frames leave ingest in Go buffers and the Mat never escapes. The capture
// and its Mat belong to a reader goroutine that runs one frame ahead of
// Run; when Run is told to stop it waits for a read in progress at most
// half a second, so a stalled stream cannot hold up the pipeline's
// shutdown. Requested
// width, height, fps and pixel format (FourCC) are asked of devices and
// URLs; what was granted is logged and available from Granted.
//
// Capture times:
//   - devices: the driver's buffer timestamp (V4L2 reports CLOCK_MONOTONIC),
//     mapped onto the pipeline clock; when the driver gives none, or an
//     implausible one, arrival time minus the configured latency;
//   - URLs and GStreamer pipelines: arrival time minus the configured
//     latency;
//   - files: the stream's start plus the frame's position in the file, so
//     a file and its own audio track (ingest/media.Track) keep their true
//     alignment. With Pace each frame is sent when the clock reaches its
//     capture time; otherwise as fast as it decodes. With Loop the file
//     starts over, its time line continuing.
//
// A device that cannot be opened, or stops delivering, makes Run return an
// error (ErrOpen, ErrLost); ingest/retry reopens it with backoff. A file
// that cannot be opened is a permanent error (ingest/retry.Permanent).
//
// The package needs cgo and OpenCV; with the nosensors build tag New
// returns ErrNotBuilt. Its tests run with gocv's matprofile tag (make test)
// and fail on leaked Mats.
package camera
