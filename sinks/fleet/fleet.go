package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// DefaultStream is the hub stream's name.
const DefaultStream = "FUSIOND_FLEET"

// Config configures a Manager.
type Config struct {
	// Stream is the hub stream (DefaultStream when empty).
	Stream string
	// HubDomain is the hub's JetStream domain; empty for the local one.
	HubDomain string
	// Replicas wanted (default 3); Ensure settles for fewer when the
	// cluster has fewer nodes.
	Replicas int
	// Limits of the hub stream (0: none); discard old.
	MaxAge   time.Duration
	MaxBytes int64
	// DuplicateWindow: decisions sourced twice within it are stored once
	// (default 10m).
	DuplicateWindow time.Duration
	Log             *slog.Logger
	// Clock times how long a source has been silent (default real).
	Clock av.Clock
}

// Robot names a robot's decision log: the robot id, the JetStream domain
// its embedded server runs, and its stream there.
type Robot struct {
	Robot  string `json:"robot"`
	Domain string `json:"domain"`
	Stream string `json:"stream"`
}

// ParseRobot reads ROBOT or ROBOT@DOMAIN (the domain is the robot id
// unless given; the stream FUSIOND_<robot>).
func ParseRobot(s string) (Robot, error) {
	id, domain, found := strings.Cut(s, "@")
	if !found {
		domain = id
	}
	if !decision.ValidToken(id) || !decision.ValidToken(domain) {
		return Robot{}, fmt.Errorf("robot %q: want ROBOT or ROBOT@DOMAIN (letters, digits, - and _)", s)
	}
	return Robot{Robot: id, Domain: domain, Stream: client.StreamName(id)}, nil
}

// Label is ROBOT, or ROBOT@DOMAIN when the domain is not the robot id.
func (r Robot) Label() string {
	if r.Domain == r.Robot {
		return r.Robot
	}
	return r.Robot + "@" + r.Domain
}

// apiPrefix is the JetStream API of r's domain, as seen from the hub.
func (r Robot) apiPrefix() string { return "$JS." + r.Domain + ".API" }

func (r Robot) source() *jetstream.StreamSource {
	return &jetstream.StreamSource{
		Name:          r.Stream,
		FilterSubject: client.DecisionSubject(r.Robot, ">"),
		// From the robot's first decision when the hub has none of this
		// source yet (or after a reset); the hub's own record of what it
		// sourced comes first otherwise.
		OptStartSeq: 1,
		External:    &jetstream.ExternalStream{APIPrefix: r.apiPrefix()},
	}
}

// createdKey is the hub stream's metadata key holding the creation time
// of r's stream, as last seen: a new one means the stream was recreated.
func (r Robot) createdKey() string { return "fusiond.created." + r.Domain + "." + r.Stream }

// robotOf reads a source of the hub stream back; ok is false for sources
// the manager did not make.
func robotOf(s *jetstream.StreamSource) (Robot, bool) {
	if s == nil || s.External == nil {
		return Robot{}, false
	}
	domain, ok := strings.CutPrefix(s.External.APIPrefix, "$JS.")
	domain, ok2 := strings.CutSuffix(domain, ".API")
	rest, ok3 := strings.CutPrefix(s.FilterSubject, "fusion.")
	id, ok4 := strings.CutSuffix(rest, ".decision.>")
	if !ok || !ok2 || !ok3 || !ok4 {
		return Robot{}, false
	}
	return Robot{Robot: id, Domain: domain, Stream: s.Name}, true
}

// Manager keeps the hub stream: which robots it sources, and that each
// source keeps flowing.
type Manager struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	// silentSince: when Check first saw a source that never reported
	// activity (clock ns). Check is not for concurrent use.
	silentSince map[Robot]int64
}

// New returns a manager of the hub stream reached through nc (a
// connection to the hub; sinks.ConnectExternal).
func New(nc *nats.Conn, cfg Config) (*Manager, error) {
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = 10 * time.Minute
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js, err := newJS(nc, cfg.HubDomain)
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = av.NewRealClock()
	}
	return &Manager{nc: nc, js: js, cfg: cfg, log: log, silentSince: map[Robot]int64{}}, nil
}

func newJS(nc *nats.Conn, domain string) (jetstream.JetStream, error) {
	if domain == "" {
		return jetstream.New(nc)
	}
	return jetstream.NewWithDomain(nc, domain)
}

// StreamConfig is the hub stream's configuration, with sources.
func (m *Manager) StreamConfig(replicas int, sources []*jetstream.StreamSource) jetstream.StreamConfig {
	maxBytes := m.cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:        m.cfg.Stream,
		Description: "fusiond: every robot's decisions, sourced from their decision logs",
		// No subjects: decisions also cross the leaf links live, and a
		// stream listening on them would store each one twice.
		Sources:    sources,
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		Discard:    jetstream.DiscardOld,
		MaxAge:     m.cfg.MaxAge,
		MaxBytes:   maxBytes,
		MaxMsgs:    -1,
		Duplicates: m.cfg.DuplicateWindow,
		Replicas:   replicas,
	}
}

// JetStream error codes that mean "fewer replicas, please".
var replicaErrCodes = []jetstream.ErrorCode{
	10074, // replicas > 1 not supported in non-clustered mode
	10023, // insufficient resources
	10005, // no suitable peers for placement
}

// ErrNoHubStream: the hub stream does not exist yet (the first Add
// creates it).
var ErrNoHubStream = errors.New("no hub stream yet (fleet add creates it)")

// Stream returns the hub stream.
func (m *Manager) Stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := m.js.Stream(ctx, m.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("hub stream %s: %w", m.cfg.Stream, ErrNoHubStream)
	}
	if err != nil {
		return nil, fmt.Errorf("hub stream %s: %w", m.cfg.Stream, err)
	}
	return s, nil
}

// create makes the hub stream with its first sources (a stream with
// neither sources nor subjects would get its name as subject), with the
// configured replicas or as many as the cluster allows.
func (m *Manager) create(ctx context.Context, sources []*jetstream.StreamSource) error {
	var first error
	for r := m.cfg.Replicas; r >= 1; r-- {
		_, err := m.js.CreateStream(ctx, m.StreamConfig(r, sources))
		if err == nil {
			if r < m.cfg.Replicas {
				m.log.Warn("hub stream created with fewer replicas than configured: the cluster has fewer nodes", "stream", m.cfg.Stream, "replicas", r, "wanted", m.cfg.Replicas)
			}
			return nil
		}
		if first == nil {
			first = err
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || !slices.Contains(replicaErrCodes, apiErr.ErrorCode) {
			break
		}
	}
	return fmt.Errorf("hub stream %s: %w", m.cfg.Stream, first)
}

// update applies change to the hub stream's configuration and stores it;
// when there is no hub stream yet, it creates one with the sources change
// adds.
func (m *Manager) update(ctx context.Context, change func(*jetstream.StreamConfig)) error {
	s, err := m.Stream(ctx)
	if errors.Is(err, ErrNoHubStream) {
		var c jetstream.StreamConfig
		change(&c)
		if len(c.Sources) == 0 {
			return err
		}
		if err := m.create(ctx, c.Sources); err != nil {
			return err
		}
		return m.update(ctx, change) // metadata too
	}
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("hub stream %s: %w", m.cfg.Stream, err)
	}
	cfg := info.Config
	change(&cfg)
	if _, err := m.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("hub stream %s: %w", m.cfg.Stream, err)
	}
	return nil
}

// Add makes the hub stream source the robots' decision logs. Robots
// already sourced are left as they are.
func (m *Manager) Add(ctx context.Context, robots ...Robot) error {
	// The creation times of the robots' streams now, when reachable: a
	// later one means the stream was recreated (Check).
	created := map[string]string{}
	for _, r := range robots {
		if info, err := m.robotInfo(ctx, r); err == nil {
			created[r.createdKey()] = info.Created.UTC().Format(time.RFC3339Nano)
		}
	}
	return m.update(ctx, func(c *jetstream.StreamConfig) {
		for _, r := range robots {
			if v, ok := created[r.createdKey()]; ok && c.Metadata[r.createdKey()] == "" {
				if c.Metadata == nil {
					c.Metadata = map[string]string{}
				}
				c.Metadata[r.createdKey()] = v
			}
			if slices.ContainsFunc(c.Sources, func(s *jetstream.StreamSource) bool { got, ok := robotOf(s); return ok && got == r }) {
				continue
			}
			c.Sources = append(c.Sources, r.source())
			m.log.Info("fleet: sourcing a robot's decision log", "robot", r.Robot, "domain", r.Domain, "stream", r.Stream)
		}
	})
}

// Remove stops sourcing the robots (ids, or ROBOT@DOMAIN); the decisions
// the hub holds stay until its limits remove them. It returns the robots
// removed.
func (m *Manager) Remove(ctx context.Context, ids ...string) ([]Robot, error) {
	var removed []Robot
	err := m.update(ctx, func(c *jetstream.StreamConfig) {
		removed = nil
		c.Sources = slices.DeleteFunc(c.Sources, func(s *jetstream.StreamSource) bool {
			r, ok := robotOf(s)
			if ok && (slices.Contains(ids, r.Robot) || slices.Contains(ids, r.Label()) || slices.Contains(ids, r.Robot+"@"+r.Domain)) {
				removed = append(removed, r)
				delete(c.Metadata, r.createdKey())
				return true
			}
			return false
		})
	})
	return removed, err
}

// Robots lists the robots the hub stream sources, sorted.
func (m *Manager) Robots(ctx context.Context) ([]Robot, error) {
	s, err := m.Stream(ctx)
	if err != nil {
		return nil, err
	}
	var out []Robot
	for _, src := range s.CachedInfo().Config.Sources {
		if r, ok := robotOf(src); ok {
			out = append(out, r)
		}
	}
	sortRobots(out)
	return out, nil
}

func sortRobots(rs []Robot) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Robot != rs[j].Robot {
			return rs[i].Robot < rs[j].Robot
		}
		return rs[i].Domain < rs[j].Domain
	})
}

// robotInfo asks the robot's server, across its domain, about its stream.
func (m *Manager) robotInfo(ctx context.Context, r Robot) (*jetstream.StreamInfo, error) {
	js, err := jetstream.NewWithDomain(m.nc, r.Domain)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, r.Stream)
	if err != nil {
		return nil, err
	}
	return s.CachedInfo(), nil
}

// RobotStatus is how far the hub is behind one robot.
type RobotStatus struct {
	Robot
	// HubMsgs: the robot's decisions the hub stream holds.
	HubMsgs uint64 `json:"hub_msgs"`
	// Sourced: the last sequence of the robot's stream the hub has.
	Sourced uint64 `json:"sourced_seq"`
	// Reachable: the robot's server answered (the link is up).
	Reachable bool `json:"reachable"`
	// RobotLastSeq: the last sequence of the robot's stream (Reachable).
	RobotLastSeq uint64 `json:"robot_last_seq,omitempty"`
	// LagMsgs: decisions the robot has and the hub not yet: its last
	// sequence minus the one sourced when reachable, else the hub's last
	// estimate.
	LagMsgs uint64 `json:"lag_msgs"`
	// LagNS: capture time of the robot's last decision minus that of the
	// hub's last one from it; -1 when unknown (unreachable, or none).
	LagNS int64 `json:"lag_ns"`
	// SinceContactNS: time since the hub last heard from the robot's
	// stream (data or heartbeat); -1 when never.
	SinceContactNS int64 `json:"since_contact_ns"`
	// Error is the source's error, or a stall Check would fix.
	Error string `json:"error,omitempty"`
}

// Status reports every robot the hub stream sources, sorted.
func (m *Manager) Status(ctx context.Context) ([]RobotStatus, error) {
	s, err := m.Stream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(client.DecisionSubject("*", ">")))
	if err != nil {
		return nil, fmt.Errorf("hub stream %s: %w", m.cfg.Stream, err)
	}
	perRobot := map[string]uint64{}
	for subj, n := range info.State.Subjects {
		if parts := strings.Split(subj, "."); len(parts) == 4 {
			perRobot[parts[1]] += n
		}
	}
	var robots []Robot
	for _, src := range info.Config.Sources {
		if r, ok := robotOf(src); ok {
			robots = append(robots, r)
		}
	}
	out := make([]RobotStatus, len(robots))
	// Robots answer, or not, at once: a down link costs its timeout once.
	m.each(robots, func(i int, r Robot) {
		st := RobotStatus{Robot: r, HubMsgs: perRobot[r.Robot], LagNS: -1, SinceContactNS: -1}
		if si := sourceInfo(info, r); si != nil {
			st.Sourced, st.LagMsgs = si.Seq, si.Lag
			if si.Active >= 0 {
				st.SinceContactNS = int64(si.Active)
			}
			if si.Error != nil {
				st.Error = si.Error.Error()
			}
		}
		rctx, cancel := context.WithTimeout(ctx, robotTimeout)
		defer cancel()
		ri, err := m.robotInfo(rctx, r)
		if err == nil {
			st.Reachable, st.RobotLastSeq = true, ri.State.LastSeq
			st.LagMsgs = 0
			if ri.State.LastSeq > st.Sourced {
				st.LagMsgs = ri.State.LastSeq - st.Sourced
			} else if st.Sourced > ri.State.LastSeq && st.Error == "" {
				st.Error = fmt.Sprintf("stalled: sourced up to seq %d, the robot's stream ends at %d (recreated?); fleet check resets it", st.Sourced, ri.State.LastSeq)
			}
			st.LagNS = m.captureLag(rctx, s, r)
		}
		out[i] = st
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Robot.Robot != out[j].Robot.Robot {
			return out[i].Robot.Robot < out[j].Robot.Robot
		}
		return out[i].Domain < out[j].Domain
	})
	return out, nil
}

func sourceInfo(info *jetstream.StreamInfo, r Robot) *jetstream.StreamSourceInfo {
	for _, si := range info.Sources {
		if si != nil && si.Name == r.Stream && si.External != nil && si.External.APIPrefix == r.apiPrefix() {
			return si
		}
	}
	return nil
}

// captureLag is the robot's last decision's capture time minus that of
// the hub's last decision from it; -1 when either is not known.
func (m *Manager) captureLag(ctx context.Context, hub jetstream.Stream, r Robot) int64 {
	js, err := jetstream.NewWithDomain(m.nc, r.Domain)
	if err != nil {
		return -1
	}
	rs, err := js.Stream(ctx, r.Stream)
	if err != nil {
		return -1
	}
	subj := client.DecisionSubject(r.Robot, ">")
	last, err := rs.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		return -1
	}
	robotNS := captureNS(last.Header)
	hubLast, err := hub.GetLastMsgForSubject(ctx, subj)
	if err != nil || robotNS < 0 {
		return -1
	}
	hubNS := captureNS(hubLast.Header)
	if hubNS < 0 {
		return -1
	}
	return max(robotNS-hubNS, 0)
}

func captureNS(h nats.Header) int64 {
	n, err := strconv.ParseInt(h.Get(sinks.HeaderCaptureTime), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// robotTimeout bounds each question to a robot across its leaf link.
const robotTimeout = 2 * time.Second

// each runs f for every robot, at most 16 at a time, and waits.
func (m *Manager) each(robots []Robot, f func(i int, r Robot)) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, r := range robots {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i, r)
		}()
	}
	wg.Wait()
}
