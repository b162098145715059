// Package testenv is the test scaffolding the daemon's tests share (the
// root package's and the command's, and the live view's): a private state
// directory for the test process, a small fast config, a free loopback
// port, Foxglove's own client run against a server.
package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
)

// Main runs the tests with the user's state directory (signing keys)
// pointed at a temporary one, for this process and the binaries the
// tests start. Call it from TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "fusiond-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Config is the built-in config made small and fast for a test (64×48
// frames, 16 kHz audio, 100 ms decisions, no NATS listener, metrics on a
// free port, the test's own state directory), with sets applied after.
func Config(t testing.TB, sets ...string) *configs.Config {
	t.Helper()
	base := []string{
		"cameras.0.width=64", "cameras.0.height=48",
		"microphones.0.rate_hz=16000",
		"fuse.decision_interval=100ms",
		"nats.embedded.listen=",
		"metrics.listen=127.0.0.1:0", // a free port: tests run side by side
		"state_dir=" + t.TempDir(),   // each test its own outbox
	}
	cfg, err := configs.Parse("", nil, append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// FreePort returns a loopback port nothing listens on (just now).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RequireNode skips the test unless node and the Node module (as
// "@scope/name") are installed in dir's node_modules; where `make test`
// runs (FUSIOND_REQUIRE_NODE=1) their absence fails the test instead.
func RequireNode(t testing.TB, dir, module string) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(module)))
	if nodeErr == nil && modErr == nil {
		return
	}
	if os.Getenv("FUSIOND_REQUIRE_NODE") == "1" {
		t.Fatalf("node or %s in %s/node_modules missing: %v %v", module, dir, nodeErr, modErr)
	}
	t.Skipf("node or %s in %s/node_modules missing (make test installs them)", module, dir)
}

// FoxgloveCheck runs Foxglove's own client (scripts/foxglove-check, at dir
// from the test's package) on url until every channel has min messages,
// and decodes its summary into sum. `make test` installs its modules and
// sets FUSIOND_REQUIRE_NODE=1: there a missing node fails instead of
// skipping.
func FoxgloveCheck(t testing.TB, dir, url string, min int, sum any) {
	t.Helper()
	RequireNode(t, dir, "@foxglove/ws-protocol")
	out, err := exec.Command("node", filepath.Join(dir, "check.mjs"), url, "30", strconv.Itoa(min)).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("foxglove-check: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
