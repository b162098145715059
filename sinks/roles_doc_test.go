package sinks

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSecurityDocListsRoles: docs/SECURITY.md's permissions blocks hold
// every subject the embedded server's roles allow.
func TestSecurityDocListsRoles(t *testing.T) {
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slices.Concat(readerPublish, readerSubscribe, operatorPublish) {
		if !strings.Contains(string(doc), `"`+s+`"`) {
			t.Errorf("docs/SECURITY.md lacks %q", s)
		}
	}
}
