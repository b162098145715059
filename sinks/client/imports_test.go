package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStayLight: subscribers import this package; it must not pull
// in the daemon, gocv, PortAudio or anything that needs cgo.
func TestImportsStayLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, cgo, _ := strings.Cut(line, " ")
		switch {
		case strings.Contains(pkg, "gocv") || strings.Contains(pkg, "portaudio"),
			strings.HasPrefix(pkg, "github.com/seed-4c364652/fusiond/") && pkg != "github.com/seed-4c364652/fusiond/sinks/client" && pkg != "github.com/seed-4c364652/fusiond/sinks/decision":
			t.Errorf("imports %s", pkg)
		case cgo != "0" && !strings.HasPrefix(pkg, "runtime/cgo") && pkg != "net" && pkg != "os/user":
			t.Errorf("%s has cgo files", pkg)
		}
	}
	if out, err := exec.Command("go", "build", "-o", "/dev/null", ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0: %v\n%s", err, out)
	}
}
