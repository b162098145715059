package main

import (
	"fmt"
	"io"
	"runtime"

	daemon "github.com/seed-4c364652/fusiond"
)

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", "Print the version, the source revision and the Go toolchain.",
		[]string{"fusiond version"}, stdout)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	ver, rev := daemon.BuildVersion()
	fmt.Fprintf(stdout, "fusiond %s (revision %s, %s, %s/%s)\n", ver, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
