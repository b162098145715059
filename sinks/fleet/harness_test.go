package fleet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// poll waits until cond holds, failing the test after limit.
func poll(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts returns n free loopback ports (listened on, then closed).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// hub is a nats-server cluster with JetStream (domain "hub") and a leaf
// node listener on every node.
type hub struct {
	t         testing.TB
	opts      []*server.Options
	srvs      []*server.Server
	leafAddrs []string
}

func startHub(t testing.TB, n int) *hub {
	t.Helper()
	ports := freePorts(t, 2*n)
	h := &hub{t: t}
	var routes []*url.URL
	for i := range n {
		routes = append(routes, &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))})
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("hub-%d", i), Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
			JetStream: true, JetStreamDomain: "hub", StoreDir: t.TempDir(),
			JetStreamMaxStore: 256 << 20, JetStreamMaxMemory: 16 << 20,
			// Not advertised: robots reach the hub through their proxy
			// only, so a cut link stays cut.
			LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: ports[n+i], NoAdvertise: true},
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "hub", Host: "127.0.0.1", Port: ports[i]}
			o.Routes = routes
		}
		h.opts = append(h.opts, o)
		h.leafAddrs = append(h.leafAddrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[n+i])))
	}
	for _, o := range h.opts {
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Verbose() {
			s.SetLogger(&testLog{t: t, name: o.ServerName}, false, false)
		}
		s.Start()
		h.srvs = append(h.srvs, s)
	}
	for _, s := range h.srvs {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("hub node %s not ready", s.Name())
		}
	}
	poll(t, "the hub's JetStream", 30*time.Second, func() bool {
		for _, s := range h.srvs {
			if !s.JetStreamIsCurrent() {
				return false
			}
		}
		return true
	})
	return h
}

// urls lists the client URLs of the running nodes.
func (h *hub) urls() string {
	var out string
	for _, s := range h.srvs {
		if s != nil && s.Running() {
			if out != "" {
				out += ","
			}
			out += s.ClientURL()
		}
	}
	return out
}

// kill shuts node i down, as a crash would.
func (h *hub) kill(i int) {
	h.srvs[i].Shutdown()
	h.srvs[i].WaitForShutdown()
	h.srvs[i] = nil
}

func (h *hub) shutdown() {
	for i, s := range h.srvs {
		if s != nil {
			s.Shutdown()
			s.WaitForShutdown()
			h.srvs[i] = nil
		}
	}
}

// proxy relays one robot's leaf connection to the hub's leaf listeners,
// the first one up starting at start; Cut breaks the link and refuses
// new connections until Restore.
type proxy struct {
	l       net.Listener
	targets []string
	start   int
	mu      sync.Mutex
	cut     bool
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

func startProxy(t testing.TB, targets []string, start int) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, targets: targets, start: start, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *proxy) URL() string { return "nats-leaf://" + p.l.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = true
		p.wg.Add(1)
		p.mu.Unlock()
		go p.relay(c)
	}
}

func (p *proxy) relay(c net.Conn) {
	defer p.wg.Done()
	defer p.drop(c)
	var up net.Conn
	for i := range p.targets {
		var err error
		if up, err = net.DialTimeout("tcp", p.targets[(p.start+i)%len(p.targets)], time.Second); err == nil {
			break
		}
	}
	if up == nil {
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

func (p *proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Cut breaks every relayed connection and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *proxy) Close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}

// robot is a robot's daemon as far as the fleet goes: its embedded
// server configured from the daemon's config keys, joined to the hub
// through a proxy, its decision log, and decisions published through the
// sinks' publish stage, signed, into the JetStream outbox.
type robot struct {
	id        string
	cfg       *configs.Config
	closeNATS func()
	nc        *nats.Conn
	proxy     *proxy
	signer    *sinks.Signer
	sink      *sinks.JetStreamSink
	in        chan *av.Decision
	done      chan error
	cancel    context.CancelFunc
	seq       uint64
}

func startRobot(t testing.TB, id string, p *proxy, announce time.Duration) *robot {
	t.Helper()
	cfg, err := configs.Parse("", nil, []string{
		"robot=" + id, "nats.embedded.listen=",
		fmt.Sprintf("nats.embedded.leaf.remotes=[%q]", p.URL()),
		"nats.embedded.store_dir=" + filepath.Join(t.TempDir(), "js"),
		"nats.embedded.leaf.announce_interval=" + announce.String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.NATS.Embedded.Domain; d != id {
		t.Fatalf("robot %s: nats.embedded.domain %q, want the robot id", id, d)
	}
	// The daemon's own path from config to embedded server and connection.
	nc, closeNATS, err := fusiond.ConnectNATS(cfg.NATS, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sinks.NewSigner(kp)
	if err != nil {
		t.Fatal(err)
	}
	r := &robot{id: id, cfg: cfg, closeNATS: closeNATS, nc: nc, proxy: p, signer: signer, in: make(chan *av.Decision, 64), done: make(chan error, 1)}
	r.ensureLog(t)
	r.sink, err = sinks.NewJetStreamSink(nc, "boot1", sinks.OutboxConfig{
		Signer: signer, Stream: client.StreamName(id),
		EnsureLog: func(ctx context.Context) error {
			_, err := sinks.EnsureLog(ctx, nc, "", sinks.LogConfig{Robot: id})
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- sinks.Run(ctx, av.NewRealClock(), r.in, []sinks.Sink{r.sink}, av.NewDrops(), nil)
	}()
	return r
}

func (r *robot) ensureLog(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sinks.EnsureLog(ctx, r.nc, "", sinks.LogConfig{Robot: r.id}); err != nil {
		t.Fatalf("robot %s: %v", r.id, err)
	}
}

// publish sends n synthetic decisions through the publish stage.
func (r *robot) publish(n int) {
	for range n {
		r.seq++
		r.in <- &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: r.id, Kind: "activity",
			Seq: r.seq, TimeNS: 1_700_000_000_000_000_000 + int64(r.seq)*500_000_000, Confidence: 0.5,
			Contributions: map[string]float64{"prior": 0}, Missing: []string{}, Evidence: map[string]float64{}}}
	}
}

// stored is how many decisions the robot's own log holds and acked.
func (r *robot) acked() uint64 { return r.sink.Stats().Acked }

func (r *robot) stop(t testing.TB) {
	t.Helper()
	close(r.in)
	if err := <-r.done; err != nil {
		t.Errorf("robot %s: publish stage: %v", r.id, err)
	}
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sink.Close(ctx); err != nil {
		t.Errorf("robot %s: %v", r.id, err)
	}
	r.closeNATS()
	r.proxy.Close()
}

// testLog prints a hub node's warnings and errors with -v.
type testLog struct {
	t    testing.TB
	name string
}

func (l *testLog) Noticef(format string, v ...any) {}
func (l *testLog) Debugf(format string, v ...any)  {}
func (l *testLog) Tracef(format string, v ...any)  {}
func (l *testLog) Warnf(format string, v ...any) {
	l.t.Logf("%s %s WARN %s", time.Now().Format("15:04:05.000"), l.name, fmt.Sprintf(format, v...))
}
func (l *testLog) Errorf(format string, v ...any) {
	l.t.Logf("%s %s ERROR %s", time.Now().Format("15:04:05.000"), l.name, fmt.Sprintf(format, v...))
}
func (l *testLog) Fatalf(format string, v ...any) { l.Errorf(format, v...) }
