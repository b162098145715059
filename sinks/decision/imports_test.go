package decision

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyStdlib: ingest/av and subscribers import this package;
// it must stay a leaf of the standard library and build without cgo.
func TestImportsOnlyStdlib(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, std, _ := strings.Cut(line, " ")
		if std != "true" && pkg != "github.com/seed-4c364652/fusiond/sinks/decision" {
			t.Errorf("imports %s", pkg)
		}
	}
	cmd := exec.Command("go", "build", "-o", "/dev/null", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0: %v\n%s", err, out)
	}
}
