// Package configs holds fusiond's configuration: the Config type, the
// built-in defaults (default.yaml, embedded in the binary so that fusiond runs
// from any directory) and the ready-to-run YAML files beside it.
//
// Load reads a config in three layers: the defaults, then a YAML file, then
// --set overrides. Decoding is strict: an unknown key, a value of the wrong
// type or a value that fails validation is an error that names the file, the
// line and the key (or the --set that caused it).
//
// List entries (cameras, microphones) in a file replace the default list;
// each entry starts from the default entry, so it only needs the keys it
// changes.
//
// A camera or microphone entry holds the keys every entry of its modality
// has; the keys of its source kind (file, device, synthetic.seed, ...)
// are carried as Params, located like every other key (Where), and decoded
// and checked by ingest/source against the kind's spec: load configs that
// will open sources with source.Load, which does both.
package configs
