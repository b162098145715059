package configs

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Params are the keys of a source entry beyond the ones every entry of its
// modality has: the keys of its source kind ("file", "synthetic.seed"), as
// the YAML gave them. This package only carries them, and where each came
// from (Config.Where); ingest/source decodes them strictly against the
// kind's spec, checks them and completes them with the kind's defaults.
type Params map[string]yaml.Node

// Lookup returns the node at a dotted key path ("synthetic.seed").
func (p Params) Lookup(path string) (*yaml.Node, bool) {
	first, rest, nested := strings.Cut(path, ".")
	n, ok := p[first]
	if !ok {
		return nil, false
	}
	node := &n
	for nested {
		var key string
		key, rest, nested = strings.Cut(rest, ".")
		if node = mappingValue(node, key); node == nil {
			return nil, false
		}
	}
	return node, true
}

// String returns the scalar at a dotted key path ("" when absent or not a
// scalar).
func (p Params) String(path string) string {
	if n, ok := p.Lookup(path); ok && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// Set sets the value at a dotted key path, making the mappings on the way;
// v is encoded as YAML (a string, number, bool, duration, list or map),
// or is a *yaml.Node.
func (p *Params) Set(path string, v any) error {
	var val yaml.Node
	switch n := v.(type) {
	case *yaml.Node:
		val = *n
	case yaml.Node:
		val = n
	default:
		if err := val.Encode(v); err != nil {
			return err
		}
	}
	if *p == nil {
		*p = Params{}
	}
	first, rest, nested := strings.Cut(path, ".")
	if !nested {
		(*p)[first] = val
		return nil
	}
	top, ok := (*p)[first]
	if !ok || top.Kind != yaml.MappingNode {
		top = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	top = *cloneNode(&top) // its nodes may be shared with a copy of p
	setIn(&top, strings.Split(rest, "."), &val)
	(*p)[first] = top
	return nil
}

// Update sets the value at a dotted key path the params already hold
// (once ingest/source has completed them, every key of the kind) and
// reports whether it did.
func (p Params) Update(path string, v any) bool {
	if _, ok := p.Lookup(path); !ok {
		return false
	}
	return p.Set(path, v) == nil
}

// Clone returns a deep copy of p: setting keys in one leaves the other be
// (a copied Camera shares its Params with the original).
func (p Params) Clone() Params {
	if p == nil {
		return nil
	}
	out := make(Params, len(p))
	for k, n := range p {
		out[k] = *cloneNode(&n)
	}
	return out
}

func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			c.Content[i] = cloneNode(e)
		}
	}
	return &c
}

// setIn sets keys under the mapping m to val, making mappings on the way.
func setIn(m *yaml.Node, keys []string, val *yaml.Node) {
	for i, key := range keys {
		next := mappingValue(m, key)
		if next == nil {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
			next = m.Content[len(m.Content)-1]
		}
		if i == len(keys)-1 {
			*next = *val
			return
		}
		if next.Kind != yaml.MappingNode {
			*next = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		m = next
	}
}

// MarshalJSON writes the params as plain JSON values (ctl.config).
func (p Params) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(p))
	for k, n := range p {
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		out[k] = jsonable(v)
	}
	return json.Marshal(out)
}

// jsonable turns YAML's generic maps (map[string]any keys may also be
// other scalars) into ones encoding/json takes.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
	}
	return v
}
