package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// SilentAfter is how long a source of a robot that answers may go
// without a message or heartbeat (one a second when healthy) before Check
// resets it.
const SilentAfter = 3 * time.Second

// Fix is a source Check reset, and why.
type Fix struct {
	Robot  Robot
	Reason string
}

// Check looks at every source whose robot answers and resets the ones
// that would stall: the robot's stream was recreated (its creation time
// changed since the hub last saw it), or the hub has sourced past the
// stream's last sequence, or its source is silent though the robot
// answers (its setup was lost with the link). Sourcing follows the origin's sequence, and a
// recreated stream counts from 1 again: a source left alone would wait
// for the new stream to pass the old one's last sequence. A reset removes
// the source and adds it back, so the hub's servers set it up at once
// (nats-server then notices the new stream's identity and sources it from
// its start). Decisions the hub already holds are not stored twice within
// the duplicate window (Nats-Msg-Id).
func (m *Manager) Check(ctx context.Context) ([]Fix, error) {
	s, err := m.Stream(ctx)
	if err != nil {
		return nil, err
	}
	info := s.CachedInfo()
	var fixes []Fix
	seen := map[string]string{} // createdKey -> creation time now
	var robots []Robot
	for _, src := range info.Config.Sources {
		if r, ok := robotOf(src); ok {
			robots = append(robots, r)
		}
	}
	infos := make([]*jetstream.StreamInfo, len(robots))
	m.each(robots, func(i int, r Robot) {
		rctx, cancel := context.WithTimeout(ctx, robotTimeout)
		defer cancel()
		infos[i], _ = m.robotInfo(rctx, r)
	})
	for i, r := range robots {
		ri := infos[i]
		if ri == nil {
			continue // the link is down: nothing to tell yet
		}
		created := ri.Created.UTC().Format(time.RFC3339Nano)
		seen[r.createdKey()] = created
		old, had := info.Config.Metadata[r.createdKey()]
		si := sourceInfo(info, r)
		switch {
		case had && old != created:
			fixes = append(fixes, Fix{r, fmt.Sprintf("the robot's stream was recreated (created %s, was %s)", created, old)})
		case si != nil && si.Seq > ri.State.LastSeq:
			fixes = append(fixes, Fix{r, fmt.Sprintf("sourced up to seq %d, past the robot's last %d", si.Seq, ri.State.LastSeq)})
		case si != nil && m.silent(r, si.Active) > SilentAfter:
			// The robot answers, and its source has not even sent a
			// heartbeat (every second): the hub's request for it was lost
			// with the link (or with a hub node), and the server would
			// wait 30s before asking again.
			fixes = append(fixes, Fix{r, fmt.Sprintf("the robot answers and its source has been silent for %v", m.silent(r, si.Active).Round(time.Millisecond))})
		}
	}
	changed := func(c *jetstream.StreamConfig) bool {
		for k, v := range seen {
			if c.Metadata[k] != v {
				return true
			}
		}
		return false
	}
	setMeta := func(c *jetstream.StreamConfig) {
		if c.Metadata == nil {
			c.Metadata = map[string]string{}
		}
		for k, v := range seen {
			c.Metadata[k] = v
		}
	}
	if len(fixes) == 0 {
		if changed(&info.Config) {
			return nil, m.update(ctx, setMeta)
		}
		return nil, nil
	}
	isFixed := func(s *jetstream.StreamSource) bool {
		r, ok := robotOf(s)
		return ok && slices.ContainsFunc(fixes, func(f Fix) bool { return f.Robot == r })
	}
	if err := m.update(ctx, func(c *jetstream.StreamConfig) {
		c.Sources = slices.DeleteFunc(c.Sources, isFixed)
		setMeta(c)
	}); err != nil {
		return nil, err
	}
	if err := m.update(ctx, func(c *jetstream.StreamConfig) {
		for _, f := range fixes {
			c.Sources = append(c.Sources, f.Robot.source())
		}
	}); err != nil {
		return nil, err
	}
	for _, f := range fixes {
		delete(m.silentSince, f.Robot)
		m.log.Warn("fleet: source reset", "robot", f.Robot.Robot, "domain", f.Robot.Domain, "reason", f.Reason)
	}
	return fixes, nil
}

// Discover asks every robot on the hub's leaf links for its domain
// (sinks.DiscoverSubject), waits for answers until wait has passed, and
// returns the decision logs found in those domains, sorted.
func (m *Manager) Discover(ctx context.Context, wait time.Duration) ([]Robot, error) {
	inbox := m.nc.NewRespInbox()
	sub, err := m.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := m.nc.PublishRequest(sinks.DiscoverSubject, inbox, nil); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	domains := map[string]bool{}
	for {
		msg, err := sub.NextMsgWithContext(wctx)
		if err != nil {
			break
		}
		if a, ok := parseAnnouncement(msg.Data); ok {
			domains[a.Domain] = true
		}
	}
	var out []Robot
	for _, d := range sortedKeys(domains) {
		rs, err := m.Resolve(ctx, d)
		if err != nil {
			m.log.Warn("fleet: a robot answered and its decision logs cannot be listed", "domain", d, "err", err)
			continue
		}
		out = append(out, rs...)
	}
	sortRobots(out)
	return out, nil
}

func parseAnnouncement(data []byte) (sinks.Announcement, bool) {
	var a sinks.Announcement
	if err := json.Unmarshal(data, &a); err != nil || a.Schema != sinks.AnnounceSchema || !validDomain(a.Domain) {
		return a, false
	}
	return a, true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Resolve lists the decision logs in a JetStream domain: the streams over
// fusion.<robot>.decision.>.
func (m *Manager) Resolve(ctx context.Context, domain string) ([]Robot, error) {
	if !validDomain(domain) {
		return nil, fmt.Errorf("domain %q: not a domain name", domain)
	}
	js, err := jetstream.NewWithDomain(m.nc, domain)
	if err != nil {
		return nil, err
	}
	lister := js.ListStreams(ctx, jetstream.WithStreamListSubject(client.DecisionSubject("*", ">")))
	var out []Robot
	for info := range lister.Info() {
		for _, subj := range info.Config.Subjects {
			if robot, ok := cutDecisionSubjects(subj); ok {
				out = append(out, Robot{Robot: robot, Domain: domain, Stream: info.Config.Name})
			}
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("decision logs in domain %s: %w", domain, err)
	}
	sortRobots(out)
	return out, nil
}

// cutDecisionSubjects reads the robot id out of fusion.<robot>.decision.>.
func cutDecisionSubjects(subj string) (string, bool) {
	r, ok := robotOf(&jetstream.StreamSource{FilterSubject: subj, External: &jetstream.ExternalStream{APIPrefix: "$JS.x.API"}})
	return r.Robot, ok && validDomain(r.Robot)
}

func validDomain(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WatchConfig configures Watch.
type WatchConfig struct {
	// Interval between checks (Check, and adding announced robots).
	Interval time.Duration
	// AutoAdd sources the decision logs of robots that announce
	// themselves; without it they are only logged.
	AutoAdd bool
	// OnFix, when set, is told of every source Check resets and
	// OnAdd of every robot added on its announcement.
	OnFix func(Fix)
	OnAdd func(Robot)
}

// Watch runs until ctx ends: every interval it checks the sources (Check),
// and it hears robots announce themselves (sinks.AnnounceSubject), adding
// their decision logs with AutoAdd.
func (m *Manager) Watch(ctx context.Context, cfg WatchConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	announced := make(chan string, 64) // full: dropped; the robot announces again
	sub, err := m.nc.Subscribe(sinks.AnnounceSubjects, func(msg *nats.Msg) {
		if a, ok := parseAnnouncement(msg.Data); ok {
			select {
			case announced <- a.Domain:
			default:
			}
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	known := map[string]bool{}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-announced:
			if known[d] {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			robots, err := m.Resolve(rctx, d)
			if err == nil && cfg.AutoAdd && len(robots) > 0 {
				if err = m.Add(rctx, robots...); err == nil && cfg.OnAdd != nil {
					for _, r := range robots {
						cfg.OnAdd(r)
					}
				}
			}
			cancel()
			if err != nil {
				m.log.Warn("fleet: announced robot not added yet", "domain", d, "err", err)
				continue
			}
			if !cfg.AutoAdd {
				m.log.Info("fleet: a robot announced itself (fleet add --discovered adds it)", "domain", d, "robots", fmt.Sprint(robots))
			}
			known[d] = len(robots) > 0
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, cfg.Interval)
			fixes, err := m.Check(cctx)
			if err != nil && !errors.Is(err, ErrNoHubStream) {
				m.log.Warn("fleet: check failed", "err", err)
			}
			for _, f := range fixes {
				if cfg.OnFix != nil {
					cfg.OnFix(f)
				}
			}
			cancel()
		}
	}
}

// silent is how long r's source has gone without a message or heartbeat:
// active as the server reports it, or, when the server has never heard
// from this setup of the source (-1), since this manager first saw it so.
func (m *Manager) silent(r Robot, active time.Duration) time.Duration {
	now := m.cfg.Clock.Now()
	if active >= 0 {
		delete(m.silentSince, r)
		return active
	}
	since, ok := m.silentSince[r]
	if !ok {
		m.silentSince[r] = now
		return 0
	}
	return time.Duration(now - since)
}
