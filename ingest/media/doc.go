// Package media reads recorded audio as live-like sources: WAV files
// (parsed here, in pure Go) and the audio track of any media file ffmpeg
// can read (demuxed by an ffmpeg subprocess, because OpenCV 4.6 reads no
// audio). Both produce av.AudioChunk samples timestamped from sample
// counts, exactly like a microphone, so a video file played through
// ingest/camera and its own audio track played through Track run as camera
// plus microphone with their true alignment.
//
// A source either paces itself to the pipeline clock (Pace: each chunk is
// sent when the clock reaches the end of its capture time, as a microphone
// would deliver it) or runs as fast as it decodes. With Loop it starts over
// at the end, its capture times continuing.
//
// The package is pure Go (ffmpeg is a separate program), so it is part of
// the nosensors build.
package media
