package decision

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestDocsSchemaIsTheEmbeddedOne: docs/schema holds the same bytes as the
// schema this package embeds (the source; copy it there after a change).
func TestDocsSchemaIsTheEmbeddedOne(t *testing.T) {
	docs, err := os.ReadFile("../../docs/schema/" + Schema + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, []byte(JSONSchema)) {
		t.Fatalf("docs/schema/%s.json differs from sinks/decision/%[1]s.json: cp sinks/decision/%[1]s.json docs/schema/", Schema)
	}
}

// jsonFields are the JSON names of t's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestSchemaFieldsAreTheStructFields: the schema's properties are
// Decision's JSON fields, one for one; its required ones are among them;
// and it names this package's schema.
func TestSchemaFieldsAreTheStructFields(t *testing.T) {
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Const string `json:"const"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(JSONSchema), &s); err != nil {
		t.Fatal(err)
	}
	props := slices.Sorted(maps.Keys(s.Properties))
	if fields := jsonFields(reflect.TypeFor[Decision]()); !slices.Equal(props, fields) {
		t.Fatalf("schema properties %v\nDecision's JSON fields %v\nadd the field to both (and to Append)", props, fields)
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok {
			t.Errorf("required %q is not a property", r)
		}
	}
	if c := s.Properties["schema"].Const; c != Schema {
		t.Errorf("schema's const %q, package says %q", c, Schema)
	}
}

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(Schema+".json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(Schema + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(sch *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestEncodedDecisionsValidate: what Append writes for valid decisions
// validates against the schema.
func TestEncodedDecisionsValidate(t *testing.T) {
	sch := compile(t)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		d := validDecision(r)
		if i == 0 {
			d = sampleDecision(7)
		}
		b, err := Append(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(sch, b); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
	}
}

// TestSchemaRejectsWhatDecodeRejects: the decisions Decode refuses for a
// field's value, the schema refuses too.
func TestSchemaRejectsWhatDecodeRejects(t *testing.T) {
	sch := compile(t)
	if err := validate(sch, []byte(sample)); err != nil {
		t.Fatalf("sample: %v", err)
	}
	for _, tc := range badDecisions {
		if tc.name == "not json" {
			continue
		}
		if err := validate(sch, []byte(tc.body)); err == nil {
			t.Errorf("%s: schema accepts %s", tc.name, tc.body)
		}
	}
}
