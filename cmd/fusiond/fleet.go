package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/sinks/fleet"
)

// cmdFleet: fusiond fleet add|remove|list|status|discover|watch, against a
// hub (docs/FLEET.md). The logic is in sinks/fleet; this is flags and
// printing.
func cmdFleet(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fleet", "add|remove|list|status|discover|watch [flags] [ROBOT[@DOMAIN]...]",
		"Gather robots' decision logs into one hub stream (fleet.stream, FUSIOND_FLEET) that\n"+
			"sources each robot's log across its JetStream domain: robots join the hub as leaf\n"+
			"nodes (nats.embedded.leaf.remotes) and keep their log while the link is down.\n"+
			"The hub is nats.url (or --server), with the usual nats.* credentials.\n\n"+
			"  add ROBOT...        source these robots (ROBOT@DOMAIN when the domain is not the id)\n"+
			"  add --discovered    source every robot that answers on the leaf links now\n"+
			"  remove ROBOT...     stop sourcing them (what the hub holds stays)\n"+
			"  list                the robots sourced\n"+
			"  status              per robot: lag (decisions, capture time), last contact, errors\n"+
			"  discover            the robots that answer, sourced or not\n"+
			"  watch               keep sources flowing (recreated robot streams, lost setups);\n"+
			"                      with --auto-add, add robots as they announce themselves",
		[]string{
			"fusiond fleet add r1 r2 --server nats://hub:4222",
			"fusiond fleet add --discovered --wait 3s",
			"fusiond fleet status --json",
			"fusiond fleet remove r2",
			"fusiond fleet watch --auto-add --config hub.yaml",
			"fusiond tail --fleet --server nats://hub:4222 --since 1h",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in defaults)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	server := fs.String("server", "", "hub `URL`(s), comma-separated (default: nats.url)")
	discovered := fs.Bool("discovered", false, "add: the robots that answer on the leaf links")
	wait := fs.Duration("wait", 2*time.Second, "add --discovered, discover: how long to collect answers")
	autoAdd := fs.Bool("auto-add", false, "watch: add robots as they announce themselves")
	watchFor := fs.Duration("for", 0, "watch: stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	asJSON := fs.Bool("json", false, "list, status, discover: print JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of a one-shot command")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "fusiond fleet: which subcommand? (see 'fusiond fleet --help')")
		return exitUsage
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	var robots []fleet.Robot
	for _, a := range rest {
		r, err := fleet.ParseRobot(a)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond fleet %s: %v\n", sub, err)
			return exitUsage
		}
		robots = append(robots, r)
	}
	switch {
	case sub == "add" && len(robots) == 0 && !*discovered,
		sub == "add" && len(robots) > 0 && *discovered,
		sub == "remove" && len(robots) == 0,
		(sub == "list" || sub == "status" || sub == "discover" || sub == "watch") && len(robots) > 0:
		fmt.Fprintf(stderr, "fusiond fleet %s: bad arguments (see 'fusiond fleet --help')\n", sub)
		return exitUsage
	case !strings.Contains(" add remove list status discover watch ", " "+sub+" "):
		fmt.Fprintf(stderr, "fusiond fleet: unknown subcommand %q (see 'fusiond fleet --help')\n", sub)
		return exitUsage
	}
	if *server != "" {
		sets = append(sets, "nats.url="+*server)
	}
	cfg, err := configs.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if cfg.NATS.URL == "" {
		fmt.Fprintln(stderr, "fusiond fleet: no hub: set nats.url or --server")
		return exitUsage
	}
	level := slog.LevelWarn // one-shot commands print their result
	if sub == "watch" {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}))

	var ctx context.Context
	var stop context.CancelFunc
	if sub == "watch" {
		ctx, stop = commandContext(*watchFor)
	} else {
		ctx, stop = commandContext(*timeout)
	}
	defer stop()
	nc, err := fleet.ConnectHub(ctx, cfg.NATS, log)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond fleet %s: %v\n", sub, err)
		return exitRuntime
	}
	defer nc.Close()
	f := cfg.Fleet
	m, err := fleet.New(nc, fleet.Config{Stream: f.Stream, HubDomain: f.HubDomain, Replicas: f.Replicas,
		MaxAge: f.MaxAge, MaxBytes: f.MaxBytes, DuplicateWindow: f.DuplicateWindow, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "fusiond fleet %s: %v\n", sub, err)
		return exitRuntime
	}

	err = nil
	switch sub {
	case "add":
		if *discovered {
			if robots, err = m.Discover(ctx, *wait); err == nil && len(robots) == 0 {
				err = errors.New("no robot answered (are they joined as leaf nodes with a domain?)")
			}
		}
		if err == nil {
			err = m.Add(ctx, robots...)
		}
		for _, r := range robots {
			if err == nil {
				fmt.Fprintf(stdout, "sourcing %s (stream %s in domain %s)\n", r.Label(), r.Stream, r.Domain)
			}
		}
	case "remove":
		ids := rest
		var removed []fleet.Robot
		removed, err = m.Remove(ctx, ids...)
		for _, r := range removed {
			fmt.Fprintf(stdout, "removed %s\n", r.Label())
		}
		if err == nil && len(removed) < len(ids) {
			err = fmt.Errorf("%d of %d robots were not sourced", len(ids)-len(removed), len(ids))
		}
	case "list", "discover":
		var rs []fleet.Robot
		if sub == "list" {
			rs, err = m.Robots(ctx)
		} else {
			rs, err = m.Discover(ctx, *wait)
		}
		if err == nil {
			printRobots(stdout, rs, *asJSON)
		}
	case "status":
		var st []fleet.RobotStatus
		if st, err = m.Status(ctx); err == nil {
			printFleetStatus(stdout, st, *asJSON)
		}
	case "watch":
		err = m.Watch(ctx, fleet.WatchConfig{Interval: f.CheckInterval, AutoAdd: *autoAdd,
			OnFix: func(x fleet.Fix) { fmt.Fprintf(stdout, "reset %s: %s\n", x.Robot.Label(), x.Reason) },
			OnAdd: func(r fleet.Robot) { fmt.Fprintf(stdout, "added %s (announced)\n", r.Label()) },
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "fusiond fleet %s: %v\n", sub, err)
		return exitRuntime
	}
	return exitOK
}

func printRobots(w io.Writer, rs []fleet.Robot, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(rs)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROBOT\tDOMAIN\tSTREAM")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Robot, r.Domain, r.Stream)
	}
	tw.Flush()
}

func printFleetStatus(w io.Writer, st []fleet.RobotStatus, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(st)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROBOT\tDOMAIN\tLINK\tON HUB\tLAG (DECISIONS)\tLAG (S)\tLAST CONTACT\tERROR")
	for _, s := range st {
		link, lagS, contact := "down", "?", "never"
		if s.Reachable {
			link = "up"
		}
		if s.LagNS >= 0 {
			lagS = fmt.Sprintf("%.1f", float64(s.LagNS)/1e9)
		}
		if s.SinceContactNS >= 0 {
			contact = time.Duration(s.SinceContactNS).Round(100*time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", s.Robot.Robot, s.Domain, link, s.HubMsgs, s.LagMsgs, lagS, contact, s.Error)
	}
	tw.Flush()
}
