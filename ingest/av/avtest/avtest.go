// Package avtest holds helpers the tests of several packages share: a log
// buffer safe to read while a daemon writes to it, polling with a deadline
// (tests never sleep for a fixed time), and a counting stand-in for a GPU
// backend's pinned host memory.
package avtest

import (
	"bytes"
	"errors"
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

// HostMemory is an av.HostMemory that hands out Go memory and keeps count:
// a stand-in for a GPU backend's pinned memory in tests. Fail makes
// AllocHost fail. It is safe for concurrent use.
type HostMemory struct {
	mu     sync.Mutex
	live   map[*byte]bool
	allocs int
	frees  int
	Fail   bool
}

// AllocHost implements av.HostMemory.
func (m *HostMemory) AllocHost(n int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail {
		return nil, errors.New("avtest: no host memory")
	}
	if m.live == nil {
		m.live = map[*byte]bool{}
	}
	b := make([]byte, n)
	m.live[&b[0]] = true
	m.allocs++
	return b, nil
}

// FreeHost implements av.HostMemory.
func (m *HostMemory) FreeHost(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(b) > 0 && m.live[&b[0]] {
		delete(m.live, &b[0])
		m.frees++
	}
}

// Owns reports whether b is a live buffer AllocHost gave.
func (m *HostMemory) Owns(b []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(b) > 0 && m.live[&b[0]]
}

// Counts returns the buffers given and freed so far.
func (m *HostMemory) Counts() (allocs, frees int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.allocs, m.frees
}
