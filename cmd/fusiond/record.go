package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

func cmdRecord(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("record", "[--config F] [--set k=v]... --out FILE.mcap [--for D]",
		"Record the configured sources to MCAP (no fusion): frames as foxglove.RawImage,\n"+
			"audio as foxglove.RawAudio, in the order and with the arrival times the\n"+
			"synchroniser would see, so that `fusiond replay` reproduces a run. The file opens\n"+
			"in Foxglove. SIGINT or SIGTERM stops it cleanly.",
		[]string{
			"fusiond record --out demo.mcap --for 30s",
			"fusiond record --config configs/robot.yaml --out /var/log/robot1.mcap",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in configs/default.yaml)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	out := fs.String("out", "", "the recording `FILE.mcap`")
	runFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 || *out == "" || *runFor < 0 {
		fmt.Fprintln(stderr, "fusiond record: want --out FILE.mcap and no arguments (see 'fusiond record --help')")
		return exitUsage
	}
	cfg, err := sources.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond record: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := commandContext(*runFor)
	defer stop()
	defer watchShutdown(ctx, cfg.Pipeline.DrainTimeout+time.Second, log)()
	d, err := daemon.New(cfg, daemon.WithLogger(log), daemon.WithRecording(*out), daemon.RecordOnly())
	if err == nil {
		err = d.Run(ctx)
	}
	if err != nil {
		log.Error("fusiond record failed", "err", err)
		return exitRuntime
	}
	return exitOK
}

// samePath reports whether a and b name the same file: the same absolute
// path, or (when both exist) the same file through links.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
