package configs

import "embed"

// Files holds the ready-to-run configs shipped in this directory, so that
// tests and `fusiond lint` can check them from any working directory.
//
//go:embed *.yaml
var Files embed.FS
