// Package wavfile reads and writes whole 16-bit PCM WAV files as
// interleaved float32 samples: the clips eval mixes and exports
// (internal/evalrun) and the speech the VAD benchmark reads
// (internal/bench). The daemon's streaming WAV source is ingest/media.
package wavfile
