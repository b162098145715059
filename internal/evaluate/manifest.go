package evaluate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ManifestName is the benchmark manifest's file name, in its directory.
const ManifestName = "manifest.tsv"

// Entry is one clip of a benchmark manifest.
type Entry struct {
	Split, Clip, Variant string
	// Media and Labels are paths: as written when absolute or present
	// relative to the working directory, else relative to the manifest.
	Media, Labels string
	Composite     bool
	Sources       string
}

// ReadManifest reads a manifest.tsv: one clip a line, TAB-separated
// split, clip, variant, media path, labels path, composite (yes/no) and
// sources; a first line starting with "split" is a header, lines starting
// with # and blank lines are ignored. Errors name the file and line.
func ReadManifest(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return filepath.Join(dir, p)
	}
	var es []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") || line == 1 && strings.HasPrefix(text, "split\t") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) < 6 {
			return nil, fmt.Errorf("%s:%d: want split, clip, variant, media, labels, composite, sources (TAB-separated), got %d fields", path, line, len(f))
		}
		e := Entry{Split: f[0], Clip: f[1], Variant: f[2], Media: resolve(f[3]), Labels: resolve(f[4])}
		switch strings.ToLower(f[5]) {
		case "yes", "true", "1":
			e.Composite = true
		case "no", "false", "0", "":
		default:
			return nil, fmt.Errorf("%s:%d: composite %q: want yes or no", path, line, f[5])
		}
		if len(f) > 6 {
			e.Sources = strings.Join(f[6:], "\t")
		}
		es = append(es, e)
	}
	return es, sc.Err()
}
