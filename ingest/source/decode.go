package source

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed-4c364652/fusiond/configs"
)

// Values are a source's decoded keys, by the key's Name: string, int64,
// float64, bool, time.Duration, or []Values for a List. Every key of the
// spec is there (given or its default) once Decode found no problem.
type Values map[string]any

// The getters return the value of a key the spec declares with that type;
// asking for any other is a bug in the kind's code, and panics.

func (v Values) String(name string) string          { return get[string](v, name) }
func (v Values) Int(name string) int                { return int(get[int64](v, name)) }
func (v Values) Float(name string) float64          { return get[float64](v, name) }
func (v Values) Bool(name string) bool              { return get[bool](v, name) }
func (v Values) Duration(name string) time.Duration { return get[time.Duration](v, name) }
func (v Values) List(name string) []Values          { return get[[]Values](v, name) }

func get[T any](v Values, name string) T {
	x, ok := v[name].(T)
	if !ok {
		panic(fmt.Sprintf("source: key %q is not a %T (%v)", name, x, v[name]))
	}
	return x
}

// Decode decodes a source entry's kind keys strictly against the spec:
// an unknown key, a value of the wrong type or out of range is a problem
// naming the key. common are the keys every entry of the modality has
// (suggested for a misspelt key). It returns the values (every key, given
// or default) and the params completed with the defaults, as the config
// shows them.
func Decode(s *Spec, p configs.Params, common []string) (Values, configs.Params, []Problem) {
	d := &decoder{spec: s, vals: Values{}, given: map[string]*yaml.Node{}, common: common}
	for _, k := range slices.Sorted(maps.Keys(p)) {
		n := p[k]
		d.walk(k, &n)
	}
	var done configs.Params
	for i := range s.Keys {
		k := &s.Keys[i]
		node, given := d.given[k.Name]
		if !given {
			if k.Required {
				d.bad(k.Name, "missing: %s", lowerDoc(k.Doc))
				continue
			}
			node = defaultNode(k.Default)
			if v, msg := decodeValue(k, node); msg == "" {
				d.vals[k.Name] = v
			} else {
				d.bad(k.Name, "default %s: %s", k.Default, msg)
			}
		}
		if node != nil {
			_ = done.Set(k.Name, node)
		}
	}
	if len(d.problems) == 0 && s.Check != nil {
		d.problems = append(d.problems, s.Check(d.vals)...)
	}
	if len(d.problems) > 0 {
		return nil, nil, d.problems
	}
	return d.vals, done, nil
}

type decoder struct {
	spec     *Spec
	vals     Values
	given    map[string]*yaml.Node
	common   []string
	problems []Problem
}

func (d *decoder) bad(key, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// walk decodes the node at path: a key of the spec, or a mapping above
// some.
func (d *decoder) walk(path string, node *yaml.Node) {
	node = deref(node)
	if k := d.spec.key(path); k != nil {
		v, msg := decodeValue(k, node)
		if msg != "" {
			d.bad(path, "%s", msg)
			return
		}
		if msg := checkValue(k, v); msg != "" {
			d.bad(path, "%s", msg)
			return
		}
		d.vals[path], d.given[path] = v, node
		return
	}
	below := d.below(path)
	if len(below) == 0 {
		d.unknown(path)
		return
	}
	if node.Kind != yaml.MappingNode {
		d.bad(path, "want a mapping of keys (%s)", strings.Join(below, ", "))
		return
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		d.walk(path+"."+node.Content[i].Value, node.Content[i+1])
	}
}

// below lists the keys one level under a dotted path ("synthetic": seed,
// ...), in the spec's order.
func (d *decoder) below(path string) []string {
	var out []string
	for _, k := range d.spec.Keys {
		if rest, ok := strings.CutPrefix(k.Name, path+"."); ok {
			first, _, _ := strings.Cut(rest, ".")
			if !slices.Contains(out, first) {
				out = append(out, first)
			}
		}
	}
	return out
}

// unknown reports a key the spec does not have, with the keys known where
// it stands (the entry's common keys too, at its top).
func (d *decoder) unknown(path string) {
	parent, key := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, key = path[:i], path[i+1:]
	}
	var known []string
	if parent == "" {
		known = slices.Clone(d.common)
		for _, k := range d.spec.Keys {
			first, _, _ := strings.Cut(k.Name, ".")
			if !slices.Contains(known, first) {
				known = append(known, first)
			}
		}
	} else {
		known = d.below(parent)
	}
	msg := "unknown key"
	if s := configs.Closest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	if other := d.otherKinds(path); len(other) > 0 {
		msg += fmt.Sprintf("; it is a key of source %s", strings.Join(other, ", "))
	}
	if key == "" { // an empty key: name it
		path += `""`
	}
	d.bad(path, "%s; known keys here: %s", msg, strings.Join(known, ", "))
}

// otherKinds lists the other kinds of the modality that have the key.
func (d *decoder) otherKinds(path string) []string {
	var out []string
	for _, s := range Specs() {
		if s.Modality == d.spec.Modality && s != d.spec && (s.key(path) != nil || len((&decoder{spec: s}).below(path)) > 0) {
			out = append(out, s.Kind)
		}
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// defaultNode parses a key's default (YAML text).
func defaultNode(text string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}
	}
	return doc.Content[0]
}

// decodeValue decodes one key's node by its type; the message says what
// is wrong.
func decodeValue(k *Key, node *yaml.Node) (any, string) {
	node = deref(node)
	if k.Type == List {
		return decodeList(k, node)
	}
	if node.Kind != yaml.ScalarNode {
		return nil, "want a single value, not a mapping or a list"
	}
	null := node.Tag == "!!null"
	text := node.Value
	switch k.Type {
	case String:
		if null {
			return "", ""
		}
		return text, ""
	case Int:
		var n int64
		if err := node.Decode(&n); err != nil || null {
			return nil, fmt.Sprintf("%q is not an integer", text)
		}
		return n, ""
	case Float:
		var f float64
		if err := node.Decode(&f); err != nil || null {
			return nil, fmt.Sprintf("%q is not a number", text)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Sprintf("%v is not a finite number", f)
		}
		return f, ""
	case Bool:
		var b bool
		if err := node.Decode(&b); err != nil || null {
			return nil, fmt.Sprintf("%q is not true or false", text)
		}
		return b, ""
	case Duration:
		d, err := time.ParseDuration(text)
		if err != nil || null {
			return nil, fmt.Sprintf("%q is not a duration (e.g. 250ms, 2s)", text)
		}
		return d, ""
	}
	return nil, fmt.Sprintf("key type %q unknown", k.Type)
}

// decodeList decodes a list of mappings, each strictly against Fields.
func decodeList(k *Key, node *yaml.Node) (any, string) {
	if node.Tag == "!!null" {
		return []Values{}, ""
	}
	if node.Kind != yaml.SequenceNode {
		return nil, "want a list"
	}
	out := make([]Values, 0, len(node.Content))
	for j, elem := range node.Content {
		elem = deref(elem)
		if elem.Kind != yaml.MappingNode {
			return nil, fmt.Sprintf("entry %d: want a mapping of keys (%s)", j, fieldNames(k.Fields))
		}
		v := Values{}
		for i := 0; i+1 < len(elem.Content); i += 2 {
			name := elem.Content[i].Value
			f := fieldByName(k.Fields, name)
			if f == nil {
				msg := fmt.Sprintf("entry %d: unknown key %q", j, name)
				if s := configs.Closest(name, strings.Split(fieldNames(k.Fields), ", ")); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return nil, msg + "; known keys here: " + fieldNames(k.Fields)
			}
			x, msg := decodeValue(f, elem.Content[i+1])
			if msg == "" {
				msg = checkValue(f, x)
			}
			if msg != "" {
				return nil, fmt.Sprintf("entry %d: %s: %s", j, name, msg)
			}
			v[name] = x
		}
		for i := range k.Fields {
			f := &k.Fields[i]
			if _, ok := v[f.Name]; ok {
				continue
			}
			if f.Required {
				return nil, fmt.Sprintf("entry %d: %s: missing: %s", j, f.Name, lowerDoc(f.Doc))
			}
			x, msg := decodeValue(f, defaultNode(f.Default))
			if msg != "" {
				return nil, fmt.Sprintf("entry %d: %s: default %s: %s", j, f.Name, f.Default, msg)
			}
			v[f.Name] = x
		}
		out = append(out, v)
	}
	return out, ""
}

func fieldByName(fields []Key, name string) *Key {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

func fieldNames(fields []Key) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// checkValue checks a decoded value against the key's bounds, choices and
// Valid.
func checkValue(k *Key, v any) string {
	switch x := v.(type) {
	case string:
		if len(k.OneOf) > 0 && !slices.Contains(k.OneOf, x) {
			return fmt.Sprintf("%q is not one of %s", x, strings.Join(k.OneOf, ", "))
		}
		if k.Valid != nil {
			return k.Valid(x)
		}
	case int64, float64, time.Duration:
		if k.Min == "" && k.Max == "" {
			return ""
		}
		lo, hi := bound(k, k.Min, math.Inf(-1)), bound(k, k.Max, math.Inf(1))
		if f := toFloat(v); f < lo || f > hi {
			return fmt.Sprintf("%v is out of range %s", v, rangeText(k))
		}
	}
	return ""
}

func bound(k *Key, text string, none float64) float64 {
	if text == "" {
		return none
	}
	v, msg := decodeValue(k, defaultNode(text))
	if msg != "" {
		return none
	}
	return toFloat(v)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case time.Duration:
		return float64(x)
	}
	return math.NaN()
}

// rangeText writes a key's bounds as docs and messages show them.
func rangeText(k *Key) string {
	switch {
	case k.Min != "" && k.Max != "":
		return k.Min + ".." + k.Max
	case k.Min != "":
		return "≥ " + k.Min
	case k.Max != "":
		return "≤ " + k.Max
	}
	return ""
}

// lowerDoc turns a key's doc into a phrase: "The video file." → "the
// video file".
func lowerDoc(doc string) string {
	doc = strings.TrimSuffix(doc, ".")
	if doc != "" && doc[0] >= 'A' && doc[0] <= 'Z' {
		doc = string(doc[0]+'a'-'A') + doc[1:]
	}
	return doc
}
