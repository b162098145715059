// Package recording is fusiond's recording format: MCAP files that open in
// Foxglove and that replay bit-exactly.
//
// Samples are recorded in the order the synchroniser consumed them, each
// with its capture time as the message's publish time and its arrival time
// as its log time, so that replay can feed the same event sequence through
// the same synchroniser and fusion and get the same decisions.
//
// Channels (topics):
//
//	/<stream>/image       foxglove.RawImage (bgr8, mono8), protobuf
//	/<stream>/audio       foxglove.RawAudio (pcm-s16, interleaved), protobuf
//	/fusiond/audio_index  fusiond.audio_index.v1 (JSON): each audio chunk's
//	                      position in its stream, counted in samples
//	/fusiond/decisions    fusiond.decision.v1 (JSON), as published
//	/fusiond/status       fusiond.status.v1 (JSON): drop counts, queue depths
//
// Metadata record "fusiond" holds the effective config (YAML), the version
// and the streams.
//
// Writer owns the file from one goroutine; producers hand it encoded
// messages through a bounded queue, and a full queue drops (and counts) the
// message rather than stall the pipeline. Chunks (lz4 or zstd) are closed
// at least every FlushInterval, so a killed recorder leaves a file whose
// complete chunks all replay; Reader reads files in write order, without
// needing the summary at the end, and reports a truncation or corruption
// with its byte offset after everything before it.
package recording
