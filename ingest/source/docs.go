package source

import (
	"fmt"
	"io"
	"strings"
)

// Reference writes the Markdown reference of every source kind: its doc
// and a table of its keys (type, default, unit, range, doc). docs/CONFIG.md
// holds it between the markers ReferenceBegin and ReferenceEnd (go test
// ./ingest/source -run TestReference -update rewrites it).
func Reference(w io.Writer) error {
	var b strings.Builder
	for _, m := range []Modality{Camera, Microphone} {
		list := "cameras"
		if m == Microphone {
			list = "microphones"
		}
		fmt.Fprintf(&b, "### %s sources\n\n", strings.ToUpper(string(m[:1]))+string(m[1:]))
		fmt.Fprintf(&b, "Every entry of `%s:` has the keys %s (configs/default.yaml); `source` picks one of: %s.\n\n",
			list, codeList(commonKeys(m)), codeList(Kinds(m)))
		for _, s := range Specs() {
			if s.Modality != m {
				continue
			}
			fmt.Fprintf(&b, "#### %s `%s`\n\n%s", m, s.Kind, s.Doc)
			if s.Needs != "" {
				fmt.Fprintf(&b, " Needs %s", s.Needs)
				if s.Needs != "ffmpeg" {
					b.WriteString(" (not in a nosensors build)")
				}
				b.WriteString(".")
			}
			b.WriteString("\n\n| key | type | default | unit | range | |\n| --- | --- | --- | --- | --- | --- |\n")
			for _, k := range s.Keys {
				writeKey(&b, k, "")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeKey(b *strings.Builder, k Key, prefix string) {
	def := "`" + k.Default + "`"
	if k.Required {
		def = "required"
	}
	rng := rangeText(&k)
	if len(k.OneOf) > 0 {
		rng = strings.Join(k.OneOf, ", ")
	}
	fmt.Fprintf(b, "| `%s%s` | %s | %s | %s | %s | %s |\n", prefix, k.Name, k.Type, cell(def), k.Unit, cell(rng), cell(k.Doc))
	for _, f := range k.Fields {
		writeKey(b, f, prefix+k.Name+"[].")
	}
}

// cell escapes what would break a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func codeList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// The markers around the generated reference in docs/CONFIG.md.
const (
	ReferenceBegin = "<!-- BEGIN source kinds: generated from ingest/source's specs; go test ./ingest/source -run TestReference -update -->"
	ReferenceEnd   = "<!-- END source kinds -->"
)
