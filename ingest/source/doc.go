// Package source holds fusiond's source kinds: for cameras synthetic,
// device, url, gstreamer and file; for microphones synthetic, portaudio,
// wav and media. Each kind is one file with one Spec: its keys (type,
// default, unit, range, one line of doc), how they are checked together,
// how the source opens, and the drop reasons its stream counts.
//
// Everything about a kind comes from its spec: Check (and Load, Parse)
// decodes a config entry's kind keys (configs.Params) strictly against it
// and completes them with its defaults, each error naming the file, line
// and key; OpenCamera and OpenMicrophone open the source the pipeline
// runs, wrapped as it runs it (a device retried with backoff while the
// other streams go on, a file's failure permanent, a file that cannot be
// opened a stand-in whose stream is missing); Reference writes the
// reference in docs/CONFIG.md, which a test keeps current.
//
// The registry is this package's own table, filled by the kind files;
// nothing is probed or opened until Open. The kinds that need OpenCV or
// PortAudio build with -tags nosensors too (ingest/camera and ingest/mic
// have stubs there): their specs are listed and checked the same, and Open
// returns the package's ErrNotBuilt.
//
// Adding a kind: a file kind_name.go with
//
//	var cameraName = register(&Spec{Modality: Camera, Kind: "name", Keys: ..., Open: ...})
//
// and its cases in the table tests; go test -update rewrites the docs.
package source
