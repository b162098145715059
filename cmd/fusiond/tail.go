package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/fleet"
)

func cmdTail(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tail", "[--server URL] [--robot ID] [--since D] [--for D] [--count N] [--json] [--verify KEYS] [--fleet]",
		"Print the decisions published on fusion.<robot>.decision.>, as a table or as JSON\n"+
			"lines. With --since, first replay the decisions the robot's JetStream decision\n"+
			"log holds from that long ago, then go on live. Waits for the server if it is\n"+
			"not up yet. Decisions of another schema version are reported, not printed.\n"+
			"With --verify, each decision's Fusiond-Signature is checked against the robot's\n"+
			"public keys (ctl.status signing_key): forged or unsigned ones are printed marked\n"+
			"FORGED or UNSIGNED (JSON: {\"rejected\": ...}) and the exit status is 1.\n"+
			"With --fleet, follow the hub stream FUSIOND_FLEET instead (every robot's decisions,\n"+
			"each once, in order per robot; docs/FLEET.md); --since replays it from then.",
		[]string{
			"fusiond tail",
			"fusiond tail --robot demo --count 5",
			"fusiond tail --since 10m --robot demo",
			"fusiond tail --server nats://127.0.0.1:4333 --for 10s --json",
			"fusiond tail --server tls://hub:4222 --creds robot.creds --ca ca.pem",
			"fusiond tail --robot demo --verify UD4K...,UAX2...   # or --verify trusted-keys.txt",
			"fusiond tail --fleet --server nats://hub:4222 --since 1h --verify fleet-keys.txt",
		}, stdout)
	server := fs.String("server", nats.DefaultURL, "NATS server `URL`(s), comma-separated")
	robot := fs.String("robot", "*", "robot `ID` (* for all)")
	since := fs.Duration("since", 0, "replay the decision log from this `DURATION` ago, then go on live")
	tailFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	count := fs.Int("count", 0, "stop after `N` decisions (0: no limit)")
	asJSON := fs.Bool("json", false, "print each decision as it came, one JSON object per line")
	creds := fs.String("creds", "", "NATS credentials `FILE` (JWT)")
	user := fs.String("user", "", "NATS `USER` (the password from $NATS_PASSWORD)")
	ca := fs.String("ca", "", "CA certificate `FILE` for tls:// servers")
	verify := fs.String("verify", "", "trusted public `KEYS`: comma-separated, or a file with one per line")
	fleetTail := fs.Bool("fleet", false, "follow the hub stream of every robot's decisions (FUSIOND_FLEET)")
	hubDomain := fs.String("hub-domain", "", "with --fleet: the hub's JetStream `DOMAIN` (default: the server's own)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	var clientOpts []client.Option
	var verifier *client.Verifier
	if *verify != "" {
		v, err := client.ParseTrustedKeys(*verify)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond tail: --verify: %v\n", err)
			return exitUsage
		}
		clientOpts = append(clientOpts, client.WithVerifier(v))
		verifier = v
	}
	if fs.NArg() > 0 || *count < 0 || *tailFor < 0 || *since < 0 || strings.ContainsAny(*robot, ". >") {
		fmt.Fprintln(stderr, "fusiond tail: bad arguments (see 'fusiond tail --help')")
		return exitUsage
	}

	ctx, stop := commandContext(*tailFor)
	defer stop()

	nc, err := client.Dial(*server, client.DialConfig{
		Name: "fusiond-tail", CredsFile: *creds, User: *user, Password: os.Getenv("NATS_PASSWORD"), CAFile: *ca,
		Waiting: func(err error) {
			fmt.Fprintf(stderr, "fusiond tail: waiting for a NATS server at %s (%v)\n", *server, err)
		},
		Disconnected: func() { fmt.Fprintf(stderr, "fusiond tail: disconnected from %s; reconnecting\n", *server) },
		Reconnected:  func() { fmt.Fprintf(stderr, "fusiond tail: reconnected to %s\n", *server) },
		Error:        func(err error) { fmt.Fprintf(stderr, "fusiond tail: %v\n", err) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "fusiond tail: %v\n", err)
		return exitRuntime
	}
	defer nc.Close()

	msgs := make(chan client.Msg, 256)
	handler := func(m client.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}
	if *fleetTail {
		if nc.WaitConnected(ctx) != nil {
			return exitOK
		}
		fc := fleet.FollowConfig{HubDomain: *hubDomain, Robot: *robot, Verifier: verifier}
		if *since > 0 {
			from := time.Unix(0, av.NewRealClock().Now()).Add(-*since)
			fc.Since = &from
		}
		stopFollow, err := fleet.Follow(ctx, nc.Conn, fc, handler)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond tail: --fleet: %v\n", err)
			return exitRuntime
		}
		defer stopFollow()
	} else if *since > 0 {
		// The log is on the server: wait for it.
		if nc.WaitConnected(ctx) != nil {
			return exitOK
		}
		r, err := client.Replay(ctx, nc.Conn, *robot, time.Unix(0, av.NewRealClock().Now()).Add(-*since), handler, clientOpts...)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond tail: --since: %v\n", err)
			return exitRuntime
		}
		defer r.Stop()
	} else {
		sub, err := client.Subscribe(nc.Conn, *robot, handler, clientOpts...)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond tail: %v\n", err)
			return exitRuntime
		}
		defer sub.Unsubscribe()
	}

	if !*asJSON {
		fmt.Fprintf(stdout, "%-23s %-10s %-10s %6s %6s  %s\n", "TIME (UTC)", "ROBOT", "KIND", "SEQ", "CONF", "CONTRIBUTIONS (log-odds)")
	}
	n, rejected := 0, 0
	done := func() int {
		if rejected > 0 {
			fmt.Fprintf(stderr, "fusiond tail: %d decisions failed verification\n", rejected)
			return exitRuntime
		}
		return exitOK
	}
	for {
		select {
		case <-ctx.Done():
			return done()
		case m := <-msgs:
			switch mark := verifyMark(m.Err); {
			case mark != "":
				rejected++
				printRejected(stdout, *asJSON, mark, m)
			case m.Err != nil:
				fmt.Fprintf(stderr, "fusiond tail: %s (%s): %v\n", m.Subject, m.MsgID, m.Err)
				continue
			case *asJSON:
				fmt.Fprintf(stdout, "%s\n", m.Data)
			default:
				printDecision(stdout, m.Decision)
			}
			n++
			if *count > 0 && n >= *count {
				return done()
			}
		}
	}
}

// verifyMark is how a message failing verification is marked ("" when
// it did not fail it).
func verifyMark(err error) string {
	switch {
	case errors.Is(err, client.ErrForged):
		return "FORGED"
	case errors.Is(err, client.ErrUnsigned):
		return "UNSIGNED"
	}
	return ""
}

func printRejected(w io.Writer, asJSON bool, mark string, m client.Msg) {
	if asJSON {
		b, _ := json.Marshal(map[string]string{"rejected": strings.ToLower(mark), "subject": m.Subject, "msg_id": m.MsgID, "data": string(m.Data)})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%-23s %s %s (%s): %q\n", mark, m.Subject, m.MsgID, m.Err, m.Data)
}

func printDecision(w io.Writer, d *client.Decision) {
	keys := make([]string, 0, len(d.Contributions))
	for k := range d.Contributions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %+.2f", k, d.Contributions[k]))
	}
	line := strings.Join(parts, "  ")
	if len(d.Missing) > 0 {
		line += "  missing: " + strings.Join(d.Missing, ",")
	}
	ts := time.Unix(0, d.TimeNS).UTC().Format("2006-01-02 15:04:05.000")
	fmt.Fprintf(w, "%-23s %-10s %-10s %6d %6.3f  %s\n", ts, d.Robot, d.Kind, d.Seq, d.Confidence, line)
}
