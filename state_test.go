package fusiond

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points the user's state directory (signing keys) at a
// temporary one, for this process and the binaries the tests start.
func TestMain(m *testing.M) {
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
