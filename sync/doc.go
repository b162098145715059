// Package sync aligns per-stream samples into bundles. It has three
// policies, a clock model for audio devices, and the trace format its
// benchmarks share with the ROS message_filters peer.
//
// # Policies
//
// window (FrameSync, the live pipeline's policy): a trigger stream (a
// camera) and a continuous stream (a microphone). Each frame is bundled with
// the audio of [t - AudioWindowNS, t + AudioAfterNS) around its capture
// time t, sliced sample-accurately out of the microphone's chunks, across
// chunk boundaries, with the number of frames real audio covered (gaps are
// zero-filled and counted). A frame goes out as soon as the audio stream's
// watermark (the capture time up to which it is complete) has passed its
// window, or at the latest when its deadline, MaxWaitNS of arrival time,
// expires; audio is then listed missing if too little of the window
// arrived. While the camera is silent for MaxWaitNS, audio-only bundles
// follow at the frame period, video listed missing; the camera rejoins with
// its next frame.
//
// approximate (Approx): the ApproximateTime policy of ROS message_filters,
// ported operation for operation, down to ros::Duration's rounding of the
// age-penalty product, so that it emits exactly the sets the C++ original
// emits on the same input (checked against it in tests, and side by side in
// scripts/bench-sync.sh). ApproxSync adds what ROS lacks: a stream silent
// for MaxWaitNS of arrival time is idle, sets go on without it with the
// stream listed missing, and it rejoins with its next message. Inter-message
// lower bounds may be given or learned, so sets are proven optimal sooner.
//
// exact (Exact): ROS ExactTime, sets of equal timestamps.
//
// In the pipeline, Config.Policy chooses how the cameras' frames are
// grouped into the sets that trigger bundles (FrameSets): window, every
// frame its own set; approximate (ApproxSync) or exact (Exact), one frame
// per camera, the set's time its newest frame's capture time. Each set
// is a bundle of its frames (av.Bundle.Frame and MoreFrames) with every
// microphone's audio window around its time (Audio and MoreAudio), with
// the deadlines, missing markers and drift estimation above; the cameras
// and microphones absent from it are named in MissingStreams. With one
// camera every frame is a set under every policy.
//
// # Never stalling
//
// Time, for deadlines, is arrival time: that of the latest sample, or a
// timer's (Advance), which the Run stage drives from its clock, less a
// grace of MaxWaitNS so that while samples flow they alone decide. A stream
// that stops, or never starts, delays nothing by more than its deadline.
//
// # Clock model
//
// Every stream may have a static offset (a camera's exposure delay, a
// device's known latency). AudioClock estimates an audio device's offset
// and drift online, by exponentially forgetting least squares of arrival
// time against sample count, with residuals clipped to a few times their
// running mean so that callback jitter averages out and a late callback
// barely moves the fit. A sample count that jumps backwards, or arrivals
// far off the model twice in a row, is a discontinuity (a reconnect, a
// looping recording): that stream alone restarts, and it is counted.
//
// # Determinism
//
// Every policy is a pure function of its inputs: the samples (with their
// arrival times) in arrival order, the Advance calls, and the config. None
// reads a clock, iterates a map or depends on scheduling. For window, with
// deadlines not hit, any interleaving of the streams that keeps each in
// order gives the same bundles.
//
// # Traces
//
// A trace is the peer's input format (../shared/peers/README.md): one
// message a line, "<stream-index> <timestamp-ns>", in arrival order.
// ParseTrace reads one, GenerateTrace makes the scenarios the benchmarks
// use (jitter, offsets, drift, drops, bursts, a stream that stops and
// resumes, 2-4 streams at different rates, a late stream), and AppendSet
// writes sets as the peer does. fusiond bench trace and fusiond bench sync
// are their command-line faces.
package sync
