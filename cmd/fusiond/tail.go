package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

func cmdTail(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tail", "[--server URL] [--robot ID] [--for D] [--count N] [--json]",
		"Print the decisions published on fusion.<robot>.decision.>, as a table or as JSON\n"+
			"lines. Waits for the server if it is not up yet.",
		[]string{
			"fusiond tail",
			"fusiond tail --robot demo --count 5",
			"fusiond tail --server nats://127.0.0.1:4333 --for 10s --json",
		}, stdout)
	server := fs.String("server", nats.DefaultURL, "NATS server `URL`")
	robot := fs.String("robot", "*", "robot `ID` (* for all)")
	tailFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	count := fs.Int("count", 0, "stop after `N` decisions (0: no limit)")
	asJSON := fs.Bool("json", false, "print each decision as it came, one JSON object per line")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 || *count < 0 || *tailFor < 0 || strings.ContainsAny(*robot, ". >") {
		fmt.Fprintln(stderr, "fusiond tail: bad arguments (see 'fusiond tail --help')")
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *tailFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *tailFor)
		defer cancel()
	}

	var waiting, connected atomic.Bool
	nc, err := nats.Connect(*server,
		nats.Name("fusiond-tail"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ConnectHandler(func(*nats.Conn) { connected.Store(true) }),
		nats.ReconnectErrHandler(func(*nats.Conn, error) {
			if !connected.Load() && !waiting.Swap(true) {
				fmt.Fprintf(stderr, "fusiond tail: waiting for a NATS server at %s\n", *server)
			}
		}),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			fmt.Fprintf(stderr, "fusiond tail: disconnected from %s; reconnecting\n", *server)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			fmt.Fprintf(stderr, "fusiond tail: reconnected to %s\n", *server)
		}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond tail: %v\n", err)
		return exitRuntime
	}
	defer nc.Close()
	if nc.IsConnected() {
		connected.Store(true)
	}

	msgs := make(chan *nats.Msg, 256)
	sub, err := nc.ChanSubscribe("fusion."+*robot+".decision.>", msgs)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond tail: %v\n", err)
		return exitRuntime
	}
	defer sub.Unsubscribe()

	if !*asJSON {
		fmt.Fprintf(stdout, "%-23s %-10s %-10s %6s %6s  %s\n", "TIME (UTC)", "ROBOT", "KIND", "SEQ", "CONF", "CONTRIBUTIONS (log-odds)")
	}
	n := 0
	for {
		select {
		case <-ctx.Done():
			return exitOK
		case m := <-msgs:
			if *asJSON {
				fmt.Fprintf(stdout, "%s\n", m.Data)
			} else {
				printDecision(stdout, m)
			}
			n++
			if *count > 0 && n >= *count {
				return exitOK
			}
		}
	}
}

func printDecision(w io.Writer, m *nats.Msg) {
	var d av.Decision
	if err := json.Unmarshal(m.Data, &d); err != nil {
		fmt.Fprintf(w, "%s: undecodable decision: %v\n", m.Subject, err)
		return
	}
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
