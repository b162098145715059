package foxglove

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve runs srv on a random loopback port until the test ends.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "ws://" + ln.Addr().String()
}

// testClient is a protocol client for the Go tests.
type testClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func dial(t testing.TB, url string, subprotocol string) *testClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 24)
	t.Cleanup(func() { conn.CloseNow() })
	return &testClient{t, conn}
}

// next reads the next message, failing after 5 s.
func (c *testClient) next() (websocket.MessageType, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return typ, b
}

// nextJSON reads the next text message into v and returns its op.
func (c *testClient) nextJSON(v any) string {
	c.t.Helper()
	typ, b := c.next()
	if typ != websocket.MessageText {
		c.t.Fatalf("binary message % x, want text", b[:min(len(b), 16)])
	}
	var op struct{ Op string }
	if err := json.Unmarshal(b, &op); err != nil {
		c.t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatal(err)
		}
	}
	return op.Op
}

func (c *testClient) send(s string) {
	c.t.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// data reads the next message as a Message Data frame.
func (c *testClient) data() (sub uint32, tsNS int64, payload []byte) {
	c.t.Helper()
	typ, b := c.next()
	if typ != websocket.MessageBinary || len(b) < 13 || b[0] != opMessageData {
		c.t.Fatalf("not message data: %v % x", typ, b[:min(len(b), 16)])
	}
	return binary.LittleEndian.Uint32(b[1:]), int64(binary.LittleEndian.Uint64(b[5:])), b[13:]
}

type statusMsg struct {
	Level   int
	Message string
}

func TestProtocol(t *testing.T) {
	srv := NewServer(Options{Name: "test", Logger: quiet, SessionID: "s1"})
	a := srv.Advertise(Channel{Topic: "/a", Encoding: "json", SchemaName: "A", Schema: "{}", SchemaEncoding: "jsonschema"})
	url := serve(t, srv)
	for _, proto := range Subprotocols {
		t.Run(proto, func(t *testing.T) {
			// The previous subtest's client is closed; the server notices
			// in its own time.
			waitFor(t, "the previous client gone", func() bool { return !srv.Subscribed(a) })
			c := dial(t, url, proto)
			if got := c.conn.Subprotocol(); got != proto {
				t.Fatalf("subprotocol %q", got)
			}
			var info struct {
				Name         string
				Capabilities []string
				SessionID    string
			}
			if op := c.nextJSON(&info); op != "serverInfo" || info.Name != "test" || len(info.Capabilities) != 0 || info.SessionID != "s1" {
				t.Fatalf("%s %+v", op, info)
			}
			var adv struct{ Channels []Channel }
			if op := c.nextJSON(&adv); op != "advertise" || len(adv.Channels) == 0 || adv.Channels[0].Topic != "/a" || adv.Channels[0].ID != a {
				t.Fatalf("%s %+v", op, adv)
			}
			if srv.Subscribed(a) {
				t.Fatal("subscribed before subscribing")
			}
			c.send(`{"op":"subscribe","subscriptions":[{"id":9,"channelId":1}]}`)
			waitFor(t, "subscription", func() bool { return srv.Subscribed(a) })
			srv.Publish(a, 42, []byte(`{"x":1}`))
			if sub, ts, p := c.data(); sub != 9 || ts != 42 || string(p) != `{"x":1}` {
				t.Fatalf("sub %d ts %d payload %s", sub, ts, p)
			}
			// A channel advertised later reaches connected clients.
			b := srv.Advertise(Channel{Topic: "/b" + proto, Encoding: "json", SchemaName: "B", Schema: "{}"})
			if op := c.nextJSON(&adv); op != "advertise" || len(adv.Channels) != 1 || adv.Channels[0].ID != b {
				t.Fatalf("%s %+v", op, adv)
			}
			// Bad input: each gets an error status, the connection stays.
			for _, bad := range []string{
				`{"op":"subscribe","subscriptions":[{"id":1,"channelId":999}]}`,
				`{"op":"subscribe","subscriptions":[{"id":9,"channelId":1}]}`,
				`{"op":"unsubscribe","subscriptionIds":[77]}`,
				`{"op":"advertise","channels":[{"id":1,"topic":"/x","encoding":"json","schemaName":"X"}]}`,
				`{"op":"setParameters","parameters":[]}`,
				`not json`,
				`{"op":"frobnicate"}`,
			} {
				c.send(bad)
				var st statusMsg
				if op := c.nextJSON(&st); op != "status" || st.Level != LevelError || st.Message == "" {
					t.Fatalf("%s: %s %+v", bad, op, st)
				}
			}
			if err := c.conn.Write(context.Background(), websocket.MessageBinary, []byte{1, 1, 0, 0, 0, 'x'}); err != nil {
				t.Fatal(err)
			}
			var st statusMsg
			if op := c.nextJSON(&st); op != "status" || !strings.Contains(st.Message, "client publishing") {
				t.Fatalf("%s %+v", op, st)
			}
			c.send(`{"op":"unsubscribe","subscriptionIds":[9]}`)
			waitFor(t, "unsubscription", func() bool { return !srv.Subscribed(a) })
			// Time messages only with the capability.
			srv.Time(5)
			srv.Publish(a, 43, []byte("{}")) // nobody subscribed: nothing comes
			c.send(`{"op":"subscribe","subscriptions":[{"id":3,"channelId":1}]}`)
			waitFor(t, "subscription", func() bool { return srv.Subscribed(a) })
			srv.Publish(a, 44, []byte("{}"))
			if sub, ts, _ := c.data(); sub != 3 || ts != 44 {
				t.Fatalf("sub %d ts %d", sub, ts)
			}
		})
	}
	if s := srv.Stats(); s.BadMessages != 16 || s.Dropped != 0 {
		t.Fatalf("%+v", s)
	}
}

func TestNoSubprotocolRefused(t *testing.T) {
	srv := NewServer(Options{Logger: quiet})
	url := serve(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, _, err = conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("read: %v", err)
	}
}

func TestTimeCapability(t *testing.T) {
	srv := NewServer(Options{Logger: quiet, Time: true})
	c := dial(t, serve(t, srv), Subprotocols[0])
	var info struct{ Capabilities []string }
	if c.nextJSON(&info); len(info.Capabilities) != 1 || info.Capabilities[0] != "time" {
		t.Fatalf("%+v", info)
	}
	waitFor(t, "client", func() bool { return srv.Stats().Clients == 1 })
	srv.Time(1795755638492620365)
	typ, b := c.next()
	if typ != websocket.MessageBinary || len(b) != 9 || b[0] != opTime || int64(binary.LittleEndian.Uint64(b[1:])) != 1795755638492620365 {
		t.Fatalf("% x", b)
	}
}

// TestSlowClient: a client that never reads loses messages (counted),
// Publish never waits for it, and it is cut off after the write timeout;
// a reading client beside it gets everything.
func TestSlowClient(t *testing.T) {
	srv := NewServer(Options{Logger: quiet, QueueLen: 8, WriteTimeout: 300 * time.Millisecond})
	ch := srv.Advertise(Channel{Topic: "/big", Encoding: "json", SchemaName: "X", Schema: "{}"})
	url := serve(t, srv)
	slow := dial(t, url, Subprotocols[0])
	slow.send(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":1}]}`)
	waitFor(t, "subscription", func() bool { return srv.Subscribed(ch) })
	payload := make([]byte, 256<<10)
	for i := 0; srv.Stats().CutOff == 0; i++ {
		srv.Publish(ch, int64(i), payload) // never blocks
		if i%64 == 0 {
			time.Sleep(10 * time.Millisecond) // let the writer fill the socket
		}
		if i > 100000 {
			t.Fatalf("not cut off: %+v", srv.Stats())
		}
	}
	st := srv.Stats()
	if st.Dropped == 0 {
		t.Fatalf("%+v", st)
	}
	waitFor(t, "the slow client to go", func() bool { return srv.Stats().Clients == 0 })
	if srv.Subscribed(ch) {
		t.Fatal("cut-off client still subscribed")
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8765", "example.com:80", "nonsense"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("%s: listened", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		ln, err := Listen(addr)
		if err != nil {
			if strings.Contains(addr, "::1") {
				continue // no IPv6 here
			}
			t.Errorf("%s: %v", addr, err)
			continue
		}
		if !ln.Addr().(*net.TCPAddr).IP.IsLoopback() {
			t.Errorf("%s: %v", addr, ln.Addr())
		}
		ln.Close()
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
