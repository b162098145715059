package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"github.com/seed-4c364652/fusiond/internal/redact"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is how errors and logs name the built-in defaults.
const DefaultName = "configs/default.yaml"

// ErrInvalid is wrapped by every error that is the config's fault (as
// opposed to, say, a file that cannot be read).
var ErrInvalid = errors.New("invalid config")

// Error is one problem with a config, located.
type Error struct {
	// Where is "FILE:LINE", or "--set EXPR" for an override.
	Where string
	// Key is the dotted path of the key concerned, when there is one.
	Key string
	Msg string
}

// Error implements error; secrets in it (a password in a URL) are
// redacted.
func (e *Error) Error() string {
	if e.Key == "" {
		return redact.String(e.Where + ": " + e.Msg)
	}
	return redact.String(e.Where + ": " + e.Key + ": " + e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Unwrap() error { return ErrInvalid }

// Load reads the config file at path (none if path is empty) over the
// defaults, then applies the --set overrides in order, and validates the
// result.
func Load(path string, sets []string) (*Config, error) {
	if path == "" {
		return Parse("", nil, sets)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, sets)
}

// Parse is Load for a config already in memory; name is used in errors.
func Parse(name string, data []byte, sets []string) (*Config, error) {
	defRoot, err := parseRoot(DefaultName, defaultYAML)
	if err != nil {
		return nil, err
	}
	defLines := map[string]int{}
	if errs := checkKeys(DefaultName, defRoot, reflect.TypeFor[Config](), "", defLines); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg := new(Config)
	if err := decode(DefaultName, defRoot, cfg, defLines); err != nil {
		return nil, err
	}

	fileLines := map[string]int{}
	if len(data) > 0 {
		root, err := parseRoot(name, data)
		if err != nil {
			return nil, err
		}
		if root != nil {
			if errs := checkKeys(name, root, reflect.TypeFor[Config](), "", fileLines); len(errs) > 0 {
				return nil, errors.Join(errs...)
			}
			if err := decodeOver(name, root, defRoot, cfg, fileLines); err != nil {
				return nil, err
			}
		}
	}

	setBy := map[string]string{} // key path -> the --set that last set it
	for _, expr := range sets {
		path, err := applySet(cfg, expr)
		if err != nil {
			return nil, err
		}
		setBy[path] = expr
	}

	cfg.loc = &locator{name: name, setBy: setBy, fileLines: fileLines, defLines: defLines}
	cfg.resolve()
	var errs []error
	for _, fe := range cfg.validate() {
		errs = append(errs, &Error{Where: cfg.Where(fe.path), Key: fe.path, Msg: fe.msg})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// locator remembers where each key of a parsed config came from.
type locator struct {
	name                string
	setBy               map[string]string
	fileLines, defLines map[string]int
}

// Where says where the value at a dotted key path came from: "FILE:LINE"
// (of the key, or of the nearest key above it the file has), "--set EXPR",
// or the built-in defaults' line. Source kind keys (Params) are located
// too, for ingest/source's errors.
func (c *Config) Where(path string) string {
	if c.loc == nil {
		return DefaultName
	}
	return locate(path, c.loc.setBy, c.loc.name, c.loc.fileLines, c.loc.defLines)
}

// parseRoot parses YAML text and returns its top-level mapping (nil for an
// empty document).
func parseRoot(name string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Where: name + yamlLine(err.Error()), Msg: yamlMsg(err.Error())}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Where: fmt.Sprintf("%s:%d", name, root.Line), Msg: "the top level must be a mapping of keys"}
	}
	return root, nil
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// yamlLine returns ":N" for the first "line N:" in a yaml error message.
func yamlLine(msg string) string {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		return ":" + m[1]
	}
	return ""
}

// yamlMsg strips the "yaml: line N:" prefix of a yaml error message.
func yamlMsg(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if loc := lineRE.FindStringIndex(msg); loc != nil {
		msg = msg[:loc[0]] + msg[loc[1]:]
	}
	return msg
}

// decode decodes node into v and turns yaml's type errors into located ones.
func decode(name string, node *yaml.Node, v any, lines map[string]int) error {
	err := node.Decode(v)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if err != nil {
			return &Error{Where: name + yamlLine(err.Error()), Msg: yamlMsg(err.Error())}
		}
		return nil
	}
	var errs []error
	for _, e := range te.Errors {
		where, key := name+yamlLine(e), ""
		if n, _ := strconv.Atoi(strings.TrimPrefix(yamlLine(e), ":")); n > 0 {
			key = keyAtLine(lines, n)
		}
		errs = append(errs, &Error{Where: where, Key: key, Msg: yamlMsg(e)})
	}
	return errors.Join(errs...)
}

// keyAtLine returns the deepest key path recorded at line n.
func keyAtLine(lines map[string]int, n int) string {
	best := ""
	for path, l := range lines {
		if l == n && len(path) > len(best) {
			best = path
		}
	}
	return best
}

// decodeOver decodes a file's top-level mapping over cfg. A list of structs
// replaces the default list, and each of its entries starts from the default
// list's first entry.
func decodeOver(name string, root, defRoot *yaml.Node, cfg *Config, lines map[string]int) error {
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	cv := reflect.ValueOf(cfg).Elem()
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		field := fieldByTag(cv.Type(), key.Value)
		template := mappingValue(defRoot, key.Value)
		isEntryList := field.Type.Kind() == reflect.Slice && field.Type.Elem().Kind() == reflect.Struct &&
			val.Kind == yaml.SequenceNode && template != nil && len(template.Content) > 0
		if !isEntryList {
			rest.Content = append(rest.Content, key, val)
			continue
		}
		list := reflect.MakeSlice(field.Type, len(val.Content), len(val.Content))
		for j, entry := range val.Content {
			elem := list.Index(j).Addr().Interface()
			if err := template.Content[0].Decode(elem); err != nil {
				return err
			}
			if err := decode(name, entry, elem, lines); err != nil {
				return err
			}
		}
		cv.FieldByIndex(field.Index).Set(list)
	}
	return decode(name, rest, cfg, lines)
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// fieldByTag finds the struct field whose yaml tag is name.
func fieldByTag(t reflect.Type, name string) reflect.StructField {
	for i := range t.NumField() {
		f := t.Field(i)
		if n := tagName(f); n != "" && n == name {
			return f
		}
	}
	return reflect.StructField{}
}

// inlineMap reports whether struct type t keeps its other keys in an
// inline map (a source entry's Params).
func inlineMap(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Map && strings.Contains(f.Tag.Get("yaml"), ",inline") {
			return true
		}
	}
	return false
}

// recordLines records the line of every key path at and below node.
func recordLines(node *yaml.Node, prefix string, lines map[string]int) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			path := join(prefix, node.Content[i].Value)
			lines[path] = node.Content[i].Line
			recordLines(node.Content[i+1], path, lines)
		}
	case yaml.SequenceNode:
		for j, elem := range node.Content {
			path := join(prefix, strconv.Itoa(j))
			lines[path] = elem.Line
			recordLines(elem, path, lines)
		}
	}
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// knownKeys lists the yaml keys of struct type t, in declaration order.
func knownKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			keys = append(keys, n)
		}
	}
	return keys
}

var durationType = reflect.TypeFor[time.Duration]()

// checkKeys walks node against type t, reports unknown keys and values of
// the wrong shape, and records the line of every key path in lines.
func checkKeys(name string, node *yaml.Node, t reflect.Type, prefix string, lines map[string]int) []error {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Tag == "!!null" {
		return nil
	}
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", name, n.Line) }
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if node.Kind != yaml.MappingNode {
			return []error{&Error{Where: at(node), Key: prefix, Msg: "want a mapping of keys (" + strings.Join(knownKeys(t), ", ") + ")"}}
		}
		var errs []error
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i], node.Content[i+1]
			path := join(prefix, key.Value)
			lines[path] = key.Line
			f := fieldByTag(t, key.Value)
			if f.Type == nil && inlineMap(t) {
				// A source kind's key: ingest/source checks it.
				recordLines(val, path, lines)
				continue
			}
			if f.Type == nil {
				errs = append(errs, &Error{Where: at(key), Key: path, Msg: unknownKeyMsg(key.Value, knownKeys(t))})
				continue
			}
			errs = append(errs, checkKeys(name, val, f.Type, path, lines)...)
		}
		return errs
	case t.Kind() == reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			return []error{&Error{Where: at(node), Key: prefix, Msg: "want a list"}}
		}
		var errs []error
		for j, elem := range node.Content {
			path := join(prefix, strconv.Itoa(j))
			lines[path] = elem.Line
			errs = append(errs, checkKeys(name, elem, t.Elem(), path, lines)...)
		}
		return errs
	default:
		if node.Kind != yaml.ScalarNode {
			return []error{&Error{Where: at(node), Key: prefix, Msg: "want a single value, not a mapping or a list"}}
		}
		return nil
	}
}

func unknownKeyMsg(key string, known []string) string {
	msg := "unknown key"
	if s := Closest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + "; known keys here: " + strings.Join(known, ", ")
}

// Closest returns the known key within edit distance 2 of key, if any:
// the "did you mean" of unknown-key errors (here and in ingest/source).
func Closest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// applySet applies one "path.to.key=value" override to cfg and returns the
// key path. The value is YAML: a scalar, or a flow list or mapping.
func applySet(cfg *Config, expr string) (string, error) {
	fail := func(key, format string, args ...any) error {
		return &Error{Where: "--set " + expr, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	path, raw, ok := strings.Cut(expr, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return "", fail("", "want path.to.key=value")
	}
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return "", fail(path, "%v", err)
	}
	keys := strings.Split(path, ".")
	target, err := findPath(&root, keys, sourceEntry(keys))
	if err != nil {
		return "", fail(path, "%v", err)
	}
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &val); err != nil {
		return "", fail(path, "bad value: %s", yamlMsg(err.Error()))
	}
	switch {
	case len(val.Content) == 0: // "key=" sets an empty string
		*target = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str"}
	default:
		*target = *val.Content[0]
	}
	if errs := checkKeys("--set", &root, reflect.TypeFor[Config](), "", map[string]int{}); len(errs) > 0 {
		var e *Error
		errors.As(errs[0], &e)
		return "", fail(e.Key, "%s", e.Msg)
	}
	var out Config
	if err := root.Decode(&out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for i, e := range te.Errors {
				te.Errors[i] = yamlMsg(e)
			}
			return "", fail(path, "%s", strings.Join(te.Errors, "; "))
		}
		return "", fail(path, "%s", yamlMsg(err.Error()))
	}
	dropOldKindKeys(cfg, &out, keys)
	*cfg = out
	return path, nil
}

// sourceEntry returns, for a key path below a camera or microphone entry
// ("cameras.0.file"), how many of its keys name the entry (2): keys below
// it that are not there yet are a source kind's, created by --set and
// checked by ingest/source. 0 for any other path.
func sourceEntry(keys []string) int {
	if len(keys) > 2 && (keys[0] == "cameras" || keys[0] == "microphones") {
		return 2
	}
	return 0
}

// dropOldKindKeys: a --set that changes an entry's source drops the keys
// of its old kind, which the new one would refuse (set the new kind's
// keys after its source).
func dropOldKindKeys(old, out *Config, keys []string) {
	if len(keys) != 3 || keys[2] != "source" {
		return
	}
	i, err := strconv.Atoi(keys[1])
	if err != nil || i < 0 {
		return
	}
	switch keys[0] {
	case "cameras":
		if i < len(old.Cameras) && i < len(out.Cameras) && old.Cameras[i].Source != out.Cameras[i].Source {
			out.Cameras[i].Params = nil
		}
	case "microphones":
		if i < len(old.Microphones) && i < len(out.Microphones) && old.Microphones[i].Source != out.Microphones[i].Source {
			out.Microphones[i].Params = nil
		}
	}
}

// findPath returns the node at a dotted key path; list entries are indexed
// by number. Keys past the first create of them that a mapping lacks are
// made (empty mappings on the way, a null at the end).
func findPath(node *yaml.Node, keys []string, create int) (*yaml.Node, error) {
	for i, key := range keys {
		here := strings.Join(keys[:i], ".")
		switch node.Kind {
		case yaml.MappingNode:
			next := mappingValue(node, key)
			if next == nil && create > 0 && i >= create {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if i == len(keys)-1 {
					next = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				}
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, next)
			}
			if next == nil {
				var known []string
				for j := 0; j+1 < len(node.Content); j += 2 {
					known = append(known, node.Content[j].Value)
				}
				return nil, errors.New(unknownKeyMsg(key, known))
			}
			node = next
		case yaml.SequenceNode:
			j, err := strconv.Atoi(key)
			if err != nil || j < 0 || j >= len(node.Content) {
				return nil, fmt.Errorf("%s has %d entries; %q is not an index into it", here, len(node.Content), key)
			}
			node = node.Content[j]
		default:
			return nil, fmt.Errorf("%s is a single value; it has no key %q", here, key)
		}
	}
	return node, nil
}

// locate says where the value at path came from: the --set that set it (or
// a key above it), the file line, or the default file line.
func locate(path string, setBy map[string]string, name string, fileLines, defLines map[string]int) string {
	for p := path; p != ""; p = parent(p) {
		if expr, ok := setBy[p]; ok {
			return "--set " + expr
		}
		if l, ok := fileLines[p]; ok {
			return fmt.Sprintf("%s:%d", name, l)
		}
	}
	if l, ok := defLines[path]; ok {
		return fmt.Sprintf("%s:%d", DefaultName, l)
	}
	if name != "" {
		return name
	}
	return DefaultName
}

func parent(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return ""
	}
	return path[:i]
}

// resolve fills the defaults that depend on other keys: a leaf node's
// JetStream domain is the robot id unless set; the deprecated global
// camera and microphone keys map onto the entries' (resolveRobotFrame).
func (c *Config) resolve() {
	if e := &c.NATS.Embedded; e.Domain == "" && len(e.Leaf.Remotes) > 0 {
		e.Domain = c.Robot
	}
	c.resolveRobotFrame()
}
