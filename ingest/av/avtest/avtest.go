// Package avtest holds helpers the tests of several packages share: a log
// buffer safe to read while a daemon writes to it, and polling with a
// deadline (tests never sleep for a fixed time).
package avtest

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// LogBuffer is an io.Writer whose contents can be read while others write.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Poll checks cond every few milliseconds until it holds, and fails the
// test, naming what it waited for, if it does not within 20 seconds.
func Poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
