package fusiond

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyCommandsImportTheDaemon: the daemon sits on top of the stages;
// no package but the commands under cmd/ imports it, so dependencies keep
// pointing one way. A package's own tests may (sinks/fleet's drive robots
// through the daemon's NATS path): no importer of the package sees them.
func TestOnlyCommandsImportTheDaemon(t *testing.T) {
	const root = "github.com/seed-4c364652/fusiond"
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list saw %d packages", len(lines))
	}
	var importers []string
	for _, line := range lines {
		f := strings.Fields(line)
		pkg := f[0]
		for _, imp := range f[1:] {
			if imp == root && pkg != root && !strings.HasPrefix(pkg, root+"/cmd/") {
				importers = append(importers, pkg)
			}
		}
	}
	if len(importers) > 0 {
		t.Errorf("only cmd/ may import %s; imported by %v", root, importers)
	}
}
