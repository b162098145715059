package client

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

// TestDialWaitsForTheServer: Dial returns before the server is up and
// says it is waiting (once); WaitConnected returns when the server comes.
func TestDialWaitsForTheServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	waiting := make(chan error, 4)
	disconnects := 0 // unsynchronised: the race detector sees a callback after Close
	nc, err := Dial("nats://127.0.0.1:"+itoa(port), DialConfig{Name: "test", Waiting: func(err error) { waiting <- err },
		Disconnected: func() { disconnects++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := nc.WaitConnected(short); err == nil {
		t.Fatal("connected with no server")
	}
	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("Waiting never called")
	}

	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown()
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := nc.WaitConnected(ctx); err != nil {
		t.Fatalf("not connected after the server came: %v", err)
	}
	if len(waiting) != 0 {
		t.Fatalf("Waiting called %d more times", len(waiting))
	}
	nc.Close()
	_ = disconnects // no callback runs after Close returns
}
