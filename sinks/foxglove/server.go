package foxglove

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Options configure a Server.
type Options struct {
	// Name is the server's name in serverInfo ["fusiond"].
	Name string
	// QueueLen bounds each client's queue of messages waiting for its
	// socket [256]. A full queue drops the client's oldest message and
	// counts it (Stats.Dropped): a slow viewer loses messages, the
	// pipeline never waits for it.
	QueueLen int
	// WriteTimeout bounds how long one message may wait for a client's
	// socket [5s]; a client that does not read for that long is cut off
	// (Stats.CutOff).
	WriteTimeout time.Duration
	// Time declares the time capability: the server sends Time messages
	// (Server.Time) and clients follow its clock instead of the wall
	// clock; for replay.
	Time bool
	// OriginPatterns are the browser origins (host patterns) allowed to
	// connect besides same-origin and clients that send none
	// [DefaultOrigins].
	OriginPatterns []string
	// SessionID tells a client whether it reconnected to the same server.
	SessionID string
	// Logger receives connects, disconnects and each client's first bad
	// message [slog.Default()].
	Logger *slog.Logger
}

// DefaultOrigins are the browser origins allowed by default: Foxglove's
// web app and pages on this machine.
var DefaultOrigins = []string{"app.foxglove.dev", "studio.foxglove.dev", "localhost:*", "127.0.0.1:*", "[::1]:*"}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "fusiond"
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.OriginPatterns == nil {
		o.OriginPatterns = DefaultOrigins
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ctrlQueueLen bounds a client's queue of control messages (advertise,
// status); a client that lets it fill is cut off.
const ctrlQueueLen = 64

// Stats are a server's counters since it started.
type Stats struct {
	Clients int // connected now
	// Dropped counts messages dropped from full client queues.
	Dropped uint64
	// CutOff counts clients disconnected for not reading.
	CutOff uint64
	// BadMessages counts malformed, unsupported or refused client messages.
	BadMessages uint64
}

// subscriber is one client's subscription to a channel.
type subscriber struct {
	c  *client
	id uint32
}

type channel struct {
	Channel
	subs atomic.Pointer[[]subscriber] // copy on write under Server.mu
}

// Server is a Foxglove WebSocket server: it advertises channels, accepts
// subscriptions and sends each message to the clients subscribed to its
// channel. Publish costs an atomic load when nobody is subscribed.
type Server struct {
	opts Options

	mu       sync.Mutex
	channels atomic.Pointer[[]*channel] // by id-1; copy on write under mu
	clients  map[*client]struct{}

	dropped, cutOff, bad atomic.Uint64
	wg                   sync.WaitGroup
}

// NewServer returns a server with no channels.
func NewServer(opts Options) *Server {
	opts.defaults()
	s := &Server{opts: opts, clients: make(map[*client]struct{})}
	s.channels.Store(&[]*channel{})
	return s
}

// Advertise adds a channel and tells connected clients; it returns the
// channel's id.
func (s *Server) Advertise(ch Channel) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.channels.Load()
	ch.ID = uint32(len(old) + 1)
	c := &channel{Channel: ch}
	c.subs.Store(&[]subscriber{})
	next := append(old[:len(old):len(old)], c)
	s.channels.Store(&next)
	msg := advertise([]Channel{ch})
	for cl := range s.clients {
		cl.control(msg)
	}
	return ch.ID
}

func (s *Server) channel(id uint32) *channel {
	chans := *s.channels.Load()
	if id == 0 || int(id) > len(chans) {
		return nil
	}
	return chans[id-1]
}

// Subscribed reports whether any client is subscribed to channel id.
func (s *Server) Subscribed(id uint32) bool {
	ch := s.channel(id)
	return ch != nil && len(*ch.subs.Load()) > 0
}

// Ready reports whether a client subscribed to channel id has room in its
// queue: a message worth building. A client that does not keep up (its
// queue full) costs no more encoding.
func (s *Server) Ready(id uint32) bool {
	ch := s.channel(id)
	if ch == nil {
		return false
	}
	for _, sub := range *ch.subs.Load() {
		if len(sub.c.out) < cap(sub.c.out) {
			return true
		}
	}
	return false
}

// Publish sends payload, stamped tsNS, to every client subscribed to
// channel id. It never blocks; the payload is shared by the clients'
// queues, so the caller must not change it afterwards.
func (s *Server) Publish(id uint32, tsNS int64, payload []byte) {
	ch := s.channel(id)
	if ch == nil {
		return
	}
	for _, sub := range *ch.subs.Load() {
		sub.c.push(outMsg{sub: sub.id, tsNS: tsNS, payload: payload})
	}
}

// Time sends a Time message to every client (with Options.Time).
func (s *Server) Time(tsNS int64) {
	if !s.opts.Time {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		c.push(outMsg{time: true, tsNS: tsNS})
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	return Stats{Clients: n, Dropped: s.dropped.Load(), CutOff: s.cutOff.Load(), BadMessages: s.bad.Load()}
}

// Listen listens on addr, which must be a loopback address: the live
// view carries the robot's camera and microphones and has no
// authentication.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("foxglove: listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("foxglove: listen %q: not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("foxglove: %w", err)
	}
	return ln, nil
}

// Serve accepts clients on ln until ctx ends, then disconnects them and
// returns once every client's goroutines have.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.wg.Wait()
		return fmt.Errorf("foxglove: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = hs.Shutdown(shut) // hijacked connections end with ctx
	<-errc
	s.wg.Wait()
	return nil
}

// ServeHTTP upgrades a request to a Foxglove WebSocket connection and
// serves it until the client leaves, is cut off, or the request's context
// ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   Subprotocols,
		OriginPatterns: s.opts.OriginPatterns,
	})
	if err != nil {
		s.opts.Logger.Warn("foxglove: refused a connection", "remote", r.RemoteAddr, "err", err)
		return
	}
	if conn.Subprotocol() == "" {
		conn.Close(websocket.StatusPolicyViolation, "subprotocol "+Subprotocols[0]+" required")
		return
	}
	conn.SetReadLimit(1 << 16)
	s.wg.Add(1)
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &client{
		s: s, conn: conn, remote: r.RemoteAddr, cancel: cancel,
		out:  make(chan outMsg, s.opts.QueueLen),
		ctrl: make(chan []byte, ctrlQueueLen),
		subs: make(map[uint32]uint32),
	}
	caps := []string{}
	if s.opts.Time {
		caps = append(caps, "time")
	}
	c.control(serverInfo(s.opts.Name, caps, s.opts.SessionID))
	s.mu.Lock()
	all := *s.channels.Load()
	chans := make([]Channel, len(all))
	for i, ch := range all {
		chans[i] = ch.Channel
	}
	if len(chans) > 0 {
		c.control(advertise(chans))
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	s.opts.Logger.Info("foxglove: client connected", "remote", c.remote, "subprotocol", conn.Subprotocol())

	done := make(chan struct{})
	go func() {
		defer close(done)
		c.read(ctx)
	}()
	err = c.write(ctx)
	cancel()
	<-done
	s.remove(c)
	if errors.Is(err, errCutOff) {
		s.cutOff.Add(1)
		conn.Close(websocket.StatusPolicyViolation, "not reading")
	} else {
		conn.Close(websocket.StatusGoingAway, "")
	}
	s.opts.Logger.Info("foxglove: client left", "remote", c.remote, "dropped", c.dropped.Load(), "err", err)
}

// remove unsubscribes c from every channel and forgets it.
func (s *Server) remove(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub, chID := range c.subs {
		s.unsubscribe(c, sub, chID)
	}
	delete(s.clients, c)
}

// subscribe and unsubscribe run under s.mu.
func (s *Server) subscribe(c *client, sub Subscription) error {
	ch := s.channel(sub.ChannelID)
	if ch == nil {
		return fmt.Errorf("subscribe: no channel %d", sub.ChannelID)
	}
	if _, ok := c.subs[sub.ID]; ok {
		return fmt.Errorf("subscribe: subscription id %d in use", sub.ID)
	}
	for _, chID := range c.subs {
		if chID == sub.ChannelID {
			return fmt.Errorf("subscribe: already subscribed to channel %d", sub.ChannelID)
		}
	}
	c.subs[sub.ID] = sub.ChannelID
	old := *ch.subs.Load()
	next := append(old[:len(old):len(old)], subscriber{c: c, id: sub.ID})
	ch.subs.Store(&next)
	return nil
}

func (s *Server) unsubscribe(c *client, subID, chID uint32) {
	delete(c.subs, subID)
	ch := s.channel(chID)
	old := *ch.subs.Load()
	next := make([]subscriber, 0, len(old))
	for _, x := range old {
		if x.c != c || x.id != subID {
			next = append(next, x)
		}
	}
	ch.subs.Store(&next)
}

// handle applies one client message, answering problems with a status.
func (s *Server) handle(c *client, typ websocket.MessageType, data []byte) {
	if typ == websocket.MessageBinary {
		op := -1
		if len(data) > 0 {
			op = int(data[0])
		}
		c.refuse(fmt.Errorf("%w: binary op %d (this server takes no client publishing or service calls)", ErrUnsupported, op))
		return
	}
	m, err := ParseClientMessage(data)
	if err != nil {
		c.refuse(err)
		return
	}
	s.mu.Lock()
	var errs []error
	switch m.Op {
	case "subscribe":
		for _, sub := range m.Subscriptions {
			if err := s.subscribe(c, sub); err != nil {
				errs = append(errs, err)
			}
		}
	case "unsubscribe":
		for _, id := range m.SubscriptionIDs {
			chID, ok := c.subs[id]
			if !ok {
				errs = append(errs, fmt.Errorf("unsubscribe: no subscription %d", id))
				continue
			}
			s.unsubscribe(c, id, chID)
		}
	}
	s.mu.Unlock()
	for _, err := range errs {
		c.refuse(err)
	}
}

// errCutOff ends a client that does not read.
var errCutOff = errors.New("foxglove: client not reading")

// outMsg is a message waiting in a client's queue: a Time message, or a
// Message Data for subscription sub.
type outMsg struct {
	time    bool
	sub     uint32
	tsNS    int64
	payload []byte
}

type client struct {
	s      *Server
	conn   *websocket.Conn
	remote string
	cancel context.CancelFunc
	out    chan outMsg
	ctrl   chan []byte

	subs     map[uint32]uint32 // subscription id -> channel id, under s.mu
	dropped  atomic.Uint64
	logged   atomic.Bool // its first bad message was logged
	overflow atomic.Bool // its control queue filled
}

// push queues m, dropping the oldest queued message when the queue is
// full. It never blocks.
func (c *client) push(m outMsg) {
	for range 2 {
		select {
		case c.out <- m:
			return
		default:
		}
		select {
		case <-c.out:
			c.dropped.Add(1)
			c.s.dropped.Add(1)
		default:
		}
	}
	c.dropped.Add(1) // other producers refilled it: drop m itself
	c.s.dropped.Add(1)
}

// control queues a control message; a client whose control queue is full
// is not reading, and is cut off.
func (c *client) control(msg []byte) {
	select {
	case c.ctrl <- msg:
	default:
		c.overflow.Store(true)
		c.cancel()
	}
}

// refuse answers a bad client message with an error status and logs the
// client's first one.
func (c *client) refuse(err error) {
	c.s.bad.Add(1)
	c.control(status(LevelError, err.Error()))
	if !c.logged.Swap(true) {
		c.s.opts.Logger.Warn("foxglove: bad client message (further ones from this client are not logged)", "remote", c.remote, "err", err)
	}
}

func (c *client) read(ctx context.Context) {
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			c.cancel()
			return
		}
		c.s.handle(c, typ, data)
	}
}

// write sends queued messages, control ones first, until ctx ends or a
// write takes longer than the write timeout.
func (c *client) write(ctx context.Context) error {
	var buf []byte
	send := func(typ websocket.MessageType, b []byte) error {
		wctx, cancel := context.WithTimeout(ctx, c.s.opts.WriteTimeout)
		defer cancel()
		err := c.conn.Write(wctx, typ, b)
		if err != nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
			return errCutOff
		}
		return err
	}
	for {
		select {
		case msg := <-c.ctrl:
			if err := send(websocket.MessageText, msg); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			if c.overflow.Load() {
				return errCutOff
			}
			return ctx.Err()
		case msg := <-c.ctrl:
			if err := send(websocket.MessageText, msg); err != nil {
				return err
			}
		case m := <-c.out:
			if m.time {
				buf = appendTime(buf[:0], m.tsNS)
			} else {
				buf = appendMessageData(buf[:0], m.sub, m.tsNS, m.payload)
			}
			if err := send(websocket.MessageBinary, buf); err != nil {
				return err
			}
		}
	}
}
