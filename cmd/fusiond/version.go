package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// buildVersion returns the version and VCS revision this binary was built
// from, as well as it knows them.
func buildVersion() (ver, revision string) {
	ver, revision = version, "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, revision
	}
	if ver == "" {
		ver = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
			if len(revision) > 12 {
				revision = revision[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				revision += "-dirty"
			}
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	return ver, revision
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", "Print the version, the source revision and the Go toolchain.",
		[]string{"fusiond version"}, stdout)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	ver, rev := buildVersion()
	fmt.Fprintf(stdout, "fusiond %s (revision %s, %s, %s/%s)\n", ver, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
