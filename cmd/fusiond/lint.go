package main

import (
	"fmt"
	"io"

	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

func cmdLint(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("lint", "[--set k=v]... FILE...",
		"Check config files: strict keys, types and values, each error with its file and line.\nExits 0 when every file is valid, 2 otherwise.",
		[]string{"fusiond lint configs/default.yaml", "fusiond lint --set robot=r2 my-robot.yaml"}, stdout)
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "fusiond lint: no files given (see 'fusiond lint --help')")
		return exitUsage
	}
	code := exitOK
	for _, path := range fs.Args() {
		cfg, err := sources.Load(path, sets)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = exitUsage
			continue
		}
		// Absent devices and files are warnings: devices may come later
		// (run retries them), and the exit code stays 0.
		if w := cfg.Deprecation(); w != "" {
			fmt.Fprintf(stderr, "%s: warning: %s\n", path, w)
		}
		for _, w := range deviceWarnings(cfg) { // devices.go
			fmt.Fprintf(stderr, "%s: warning: %s\n", path, w)
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return code
}
