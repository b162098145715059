// Command fusiond is the streaming audio-visual sensor-fusion daemon.
//
//	fusiond run      capture, align, fuse, publish decisions
//	fusiond tail     print the decisions a server carries
//	fusiond lint     check config files
//	fusiond devices  list cameras and audio inputs
//	fusiond version  print the version
//
// Run `fusiond help` or `fusiond COMMAND --help` for details and examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1 // something failed while running
	exitUsage   = 2 // bad usage or config; nothing was started
)

func main() {
	exitProcess = os.Exit
	os.Exit(fusiond(os.Args[1:], os.Stdout, os.Stderr))
}

// exitProcess ends the process when a shutdown overruns its deadline
// (watchShutdown); main sets it, in-process tests leave it nil.
var exitProcess func(code int)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "capture, align and fuse sensor streams; publish decisions on NATS", cmdRun},
		{"tail", "print the decisions published on a NATS server", cmdTail},
		{"fleet", "gather robots' decision logs on a hub: add, remove, status, watch", cmdFleet},
		{"worker", "make offloaded robots' decisions on a hub: leases, checkpoints, handover", cmdWorker},
		{"record", "record the sources to MCAP (opens in Foxglove; replays bit-exactly)", cmdRecord},
		{"replay", "feed a recording through sync and fusion, bit-exactly; check against golden decisions", cmdReplay},
		{"plot", "draw a recording's timeline: samples, gaps, bundles, drops, decisions", cmdPlot},
		{"lint", "check config files without starting anything", cmdLint},
		{"devices", "list the cameras and audio inputs of this machine", cmdDevices},
		{"bench", "benchmark the synchroniser against its peer; generate traces", cmdBench},
		{"eval", "score the decision kinds on labelled clips: audio-only, video-only and fused", cmdEval},
		{"train", "fit the fusion head on the labelled train clips and write a model file", cmdTrain},
		{"version", "print the version and build information", cmdVersion},
	}
}

// fusiond runs the command line args and returns the exit code.
func fusiond(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			return fusiond([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "fusiond: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "fusiond: audio-visual sensor fusion for robots\n\nUsage: fusiond COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'fusiond COMMAND --help' for a command's flags and examples.")
}

// newFlags returns a flag set whose --help prints the summary, the usage
// line, the flags and examples.
func newFlags(name, synopsis, summary string, examples []string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "%s\n\nUsage: fusiond %s %s\n\nFlags:\n", summary, name, synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintln(stdout, "\nExamples:")
		for _, e := range examples {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
	}
	return fs
}

// parseFlags parses args; when it returns done, the command should exit
// with code (0 after --help, 2 after a usage error).
//
// Flags may come before and after the arguments ("replay FILE --speed 2");
// fs.Args() then holds the arguments alone.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	var positional []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp): // flag has printed the usage
			return exitOK, true
		case err != nil:
			fmt.Fprintf(stderr, "fusiond %s: %v (see 'fusiond %s --help')\n", fs.Name(), err, fs.Name())
			return exitUsage, true
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fs.Parse(append([]string{"--"}, positional...))
	return 0, false
}

// setFlags collects repeated --set path.to.key=value flags.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// commandContext is a command's context: done on SIGINT or SIGTERM, or
// after d when d > 0 (--for).
func commandContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if d <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, func() {
		cancel()
		stop()
	}
}

// watchShutdown bounds a command's shutdown: once ctx is done (a signal,
// --for), the process ends within limit (drain_timeout + 1 s) whatever
// still blocks: it logs what happened and exits with exitRuntime. A second
// SIGINT or SIGTERM ends it at once. Call the returned function when the
// command returns.
func watchShutdown(ctx context.Context, limit time.Duration, log *slog.Logger) (done func()) {
	finished := make(chan struct{})
	again := make(chan os.Signal, 1)
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-finished:
			return
		case <-t.C:
			log.Error("shutdown did not finish in time (drain_timeout + 1s); exiting with work in flight", "limit", limit)
		case sig := <-again:
			log.Error("second signal during shutdown; exiting with work in flight", "signal", sig.String())
		}
		if exitProcess != nil {
			exitProcess(exitRuntime)
		}
	}()
	return func() { close(finished) }
}
