package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// ledger records what the hub stream delivers through Follow: per robot
// the decision seqs in order, and every message id seen more than once
// or out of order.
type ledger struct {
	mu       sync.Mutex
	seqs     map[string][]uint64
	problems []string
}

func (l *ledger) add(m client.Msg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.Err != nil || m.Decision == nil {
		l.problems = append(l.problems, fmt.Sprintf("%s %s: %v", m.Subject, m.MsgID, m.Err))
		return
	}
	r := m.Decision.Robot
	seqs := l.seqs[r]
	if n := len(seqs); n > 0 && m.Decision.Seq != seqs[n-1]+1 {
		l.problems = append(l.problems, fmt.Sprintf("robot %s: decision %d after %d (stream seq %d)", r, m.Decision.Seq, seqs[n-1], m.StreamSeq))
	}
	l.seqs[r] = append(seqs, m.Decision.Seq)
}

func (l *ledger) count(robot string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seqs[robot])
}

// check fails the test unless robot's decisions 1..n arrived once each,
// in order, and nothing else went wrong.
func (l *ledger) check(t *testing.T, robot string, n uint64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) > 0 {
		t.Fatalf("hub stream: %s", strings.Join(l.problems, "; "))
	}
	want := make([]uint64, n)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	if !slices.Equal(l.seqs[robot], want) {
		t.Fatalf("robot %s: the hub holds decisions %v, want 1..%d once each", robot, l.seqs[robot], n)
	}
}

// TestFleetExactlyOnce: a three-node hub cluster sources the decision logs
// of three robots joined as leaf nodes. Every decision reaches
// FUSIOND_FLEET once and in order, signed, after a robot's link is cut
// for longer than the source's consumer lives, after the hub stream's
// leader node is killed, and after a robot's stream is recreated.
func TestFleetExactlyOnce(t *testing.T) {
	// nats-server's wait for a source consumer's creation (up to 30s)
	// does not end with the server: not ours to wait for.
	defer goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3"))
	began := time.Now()
	h := startHub(t, 3)
	defer h.shutdown()

	var robots []*robot
	for i, id := range []string{"r1", "r2", "r3"} {
		robots = append(robots, startRobot(t, id, startProxy(t, h.leafAddrs, i), 200*time.Millisecond))
	}
	defer func() {
		for _, r := range robots {
			r.stop(t)
		}
	}()
	poll(t, "three leaf connections", 30*time.Second, func() bool {
		n := 0
		for _, s := range h.srvs {
			n += s.NumLeafNodes()
		}
		return n == 3
	})

	hnc, err := nats.Connect(h.urls(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer hnc.Close()
	// A live subscriber on the hub, as a dashboard would be: decisions
	// then cross the leaf links live too, and a hub stream listening on
	// their subjects would store them twice.
	var live atomic.Int64
	liveSub, err := hnc.Subscribe(client.DecisionSubject("*", ">"), func(*nats.Msg) { live.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer liveSub.Unsubscribe()

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	m, err := New(hnc, Config{HubDomain: "hub", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Robots(ctx); !errors.Is(err, ErrNoHubStream) {
		t.Fatalf("robots before any was added: %v, want ErrNoHubStream", err)
	}

	// Discovery: the robots answer with their domains; their logs are
	// found there.
	var found []Robot
	poll(t, "three robots discovered", 30*time.Second, func() bool {
		found, err = m.Discover(ctx, 300*time.Millisecond)
		return err == nil && len(found) == 3
	})
	want := []Robot{{"r1", "r1", "FUSIOND_r1"}, {"r2", "r2", "FUSIOND_r2"}, {"r3", "r3", "FUSIOND_r3"}}
	if !slices.Equal(found, want) {
		t.Fatalf("discovered %v, want %v", found, want)
	}
	// r1 and r2 by hand; r3 by the watcher, when it announces itself.
	if err := m.Add(ctx, found[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, found[0]); err != nil { // again: no second source
		t.Fatal(err)
	}
	var fixMu sync.Mutex
	var fixes []Fix
	fixed := func(robot, reason string) bool {
		fixMu.Lock()
		defer fixMu.Unlock()
		return slices.ContainsFunc(fixes, func(f Fix) bool { return f.Robot.Robot == robot && strings.Contains(f.Reason, reason) })
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() {
		watched <- m.Watch(wctx, WatchConfig{Interval: 500 * time.Millisecond, AutoAdd: true, OnFix: func(f Fix) {
			t.Logf("%6.1fs: source reset: %s: %s", time.Since(began).Seconds(), f.Robot.Robot, f.Reason)
			fixMu.Lock()
			fixes = append(fixes, f)
			fixMu.Unlock()
		}})
	}()
	defer func() {
		stopWatch()
		if err := <-watched; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	poll(t, "the watcher to add r3 on its announcement", 30*time.Second, func() bool {
		got, _ := m.Robots(ctx)
		return slices.Equal(got, want)
	})
	s, err := m.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.Replicas != 3 || len(c.Subjects) != 0 {
		t.Fatalf("hub stream: %d replicas, subjects %v; want 3 and none", c.Replicas, c.Subjects)
	}

	keys := make([]string, len(robots))
	for i, r := range robots {
		keys[i] = r.signer.PublicKey()
	}
	v, err := client.NewVerifier(keys...)
	if err != nil {
		t.Fatal(err)
	}
	l := &ledger{seqs: map[string][]uint64{}}
	epoch := time.Unix(0, 0)
	stopFollow, err := Follow(ctx, hnc, FollowConfig{HubDomain: "hub", Since: &epoch, Verifier: v}, l.add)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFollow()
	caughtUp := func(what string, limit time.Duration) {
		t.Helper()
		last := time.Now()
		poll(t, "the hub to hold every decision "+what, limit, func() bool {
			if time.Since(last) > 3*time.Second {
				last = time.Now()
				st, err := m.Status(ctx)
				t.Logf("waiting %.1fs: ledger r1=%d r2=%d r3=%d status=%+v err=%v", time.Since(began).Seconds(), l.count("r1"), l.count("r2"), l.count("r3"), st, err)
			}
			for _, r := range robots {
				if l.count(r.id) < int(r.seq) {
					return false
				}
			}
			return true
		})
		for _, r := range robots {
			l.check(t, r.id, r.seq)
		}
		t.Logf("%6.1fs: every decision on the hub once, in order, %s", time.Since(began).Seconds(), what)
	}

	for _, r := range robots {
		r.publish(20)
	}
	caughtUp("(link up)", 60*time.Second)
	var st []RobotStatus
	poll(t, "status: no lag", 20*time.Second, func() bool {
		st, err = m.Status(ctx)
		if err != nil || len(st) != 3 {
			return false
		}
		for _, x := range st {
			if !x.Reachable || x.LagMsgs != 0 || x.LagNS != 0 || x.HubMsgs != 20 || x.SinceContactNS < 0 || x.Error != "" {
				return false
			}
		}
		return true
	})

	// 1. A robot's link is cut; it keeps its decisions; the link stays
	// down until the hub's source consumer on the robot has expired
	// (its inactivity threshold, 10s), then comes back.
	r1 := robots[0]
	r1.proxy.Cut()
	r1.publish(30)
	poll(t, "r1 to store its decisions with the link down", 30*time.Second, func() bool { return r1.acked() == r1.seq })
	// No sleep: the link stays down until the hub has not heard from r1
	// for 10s (by then the hub's source consumer on r1 has expired too).
	poll(t, "the hub to miss r1 for 10s", 60*time.Second, func() bool {
		st, err := m.Status(ctx)
		return err == nil && st[0].SinceContactNS >= int64(10*time.Second)
	})
	if st, err := m.Status(ctx); err != nil || st[0].Reachable {
		t.Fatalf("status with r1's link cut: %+v, %v", st, err)
	}
	if l.count("r1") != 20 {
		t.Fatalf("the hub has %d of r1's decisions with the link cut, want 20", l.count("r1"))
	}
	r1.proxy.Restore()
	caughtUp("(after r1's link was cut)", 60*time.Second)

	// 2. The hub stream's leader node dies; the others go on.
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := slices.IndexFunc(h.srvs, func(s *server.Server) bool { return s != nil && s.Name() == info.Cluster.Leader })
	if leader < 0 {
		t.Fatalf("no leader among the hub nodes: %+v", info.Cluster)
	}
	h.kill(leader)
	for _, r := range robots {
		r.publish(20)
	}
	caughtUp(fmt.Sprintf("(after hub node %d, the leader, was killed)", leader), 90*time.Second)

	// 3. A robot's stream is recreated: its sequence starts at 1 again,
	// below what the hub sourced.
	r3 := robots[2]
	js3, _ := jetstream.New(r3.nc)
	if err := js3.DeleteStream(ctx, "FUSIOND_r3"); err != nil {
		t.Fatal(err)
	}
	r3.ensureLog(t)
	acked := r3.acked()
	r3.publish(5)
	poll(t, "r3 to store decisions in its new stream", 30*time.Second, func() bool { return r3.acked() == acked+5 })
	poll(t, "the watcher to reset r3's source", 30*time.Second, func() bool { return fixed("r3", "recreated") })
	caughtUp("(after r3's stream was recreated)", 60*time.Second)
	stopWatch()
	if err := <-watched; err != nil {
		t.Fatalf("watch: %v", err)
	}
	watched <- nil
	if fixes, err := m.Check(ctx); err != nil || len(fixes) != 0 {
		t.Fatalf("check again: %+v, %v; want nothing to fix", fixes, err)
	}

	removed, err := m.Remove(ctx, "r2")
	if err != nil || len(removed) != 1 || removed[0].Robot != "r2" {
		t.Fatalf("remove r2: %v, %v", removed, err)
	}
	if got, _ := m.Robots(ctx); !slices.Equal(got, []Robot{want[0], want[2]}) {
		t.Fatalf("sourced after removing r2: %v", got)
	}
	if live.Load() == 0 {
		t.Fatal("no decision crossed the leaf links live: the double-capture trap was not set")
	}
	t.Logf("%6.1fs: done (%d decisions seen live on the hub)", time.Since(began).Seconds(), live.Load())
}
