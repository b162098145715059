package main

import (
	"testing"

	"github.com/seed-4c364652/fusiond/internal/testenv"
)

// TestMain: a private state directory (signing keys) for the tests.
func TestMain(m *testing.M) { testenv.Main(m) }
