// Package sync aligns per-stream samples into bundles.
//
// FrameSync is the first synchroniser: it is triggered by a camera's frames
// and bundles each frame with the audio of the window just before its
// capture time, sliced sample-accurately out of the microphone's chunks.
//
// It is a pure function of the sequence of samples pushed into it (their
// payloads, capture times and arrival times): it reads no clock. Time, for
// its deadlines, is the arrival time of the latest sample. A frame waits for
// its audio until the audio stream has covered its window, or until MaxWait
// of arrival time has passed; then it is emitted with what is there, and
// audio is marked missing when too little of the window was covered. When
// the camera stops, audio-only bundles are emitted at the nominal frame
// period, marked video-missing. A stopped stream never stalls the other.
//
// Run wraps a FrameSync as a pipeline stage.
package sync
