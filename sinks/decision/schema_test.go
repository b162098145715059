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
	for _, tc := range schemas {
		docs, err := os.ReadFile("../../docs/schema/" + tc.name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(docs, []byte(tc.schema)) {
			t.Errorf("docs/schema/%s.json differs from sinks/decision/%[1]s.json: cp sinks/decision/%[1]s.json docs/schema/", tc.name)
		}
	}
}

// schemas are the messages with a JSON Schema: its name, the schema and
// the struct it describes.
var schemas = []struct {
	name, schema string
	typ          reflect.Type
}{
	{Schema, JSONSchema, reflect.TypeFor[Decision]()},
	{StatusSchema, StatusJSONSchema, reflect.TypeFor[Status]()},
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

// TestSchemaFieldsAreTheStructFields: each schema's properties are its
// struct's JSON fields, one for one; its required ones are among them;
// and it names this package's schema.
func TestSchemaFieldsAreTheStructFields(t *testing.T) {
	for _, tc := range schemas {
		var s struct {
			Required   []string `json:"required"`
			Properties map[string]struct {
				Const string `json:"const"`
			} `json:"properties"`
		}
		if err := json.Unmarshal([]byte(tc.schema), &s); err != nil {
			t.Fatal(err)
		}
		props := slices.Sorted(maps.Keys(s.Properties))
		if fields := jsonFields(tc.typ); !slices.Equal(props, fields) {
			t.Errorf("%s: schema properties %v\n%s's JSON fields %v\nadd the field to both", tc.name, props, tc.typ.Name(), fields)
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("%s: required %q is not a property", tc.name, r)
			}
		}
		if c := s.Properties["schema"].Const; c != tc.name {
			t.Errorf("schema's const %q, package says %q", c, tc.name)
		}
	}
}

func compile(t *testing.T) *jsonschema.Schema { return compileSchema(t, Schema, JSONSchema) }

func compileSchema(t *testing.T, name, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestStatusSchema: statuses as encoding/json writes them (with and
// without drops) validate; ones with a field of the wrong type do not.
func TestStatusSchema(t *testing.T) {
	sch := compileSchema(t, StatusSchema, StatusJSONSchema)
	for _, st := range []Status{
		{Schema: StatusSchema, Robot: "demo", TimeNS: 5, Backend: "cpu"},
		{Schema: StatusSchema, Robot: "r-2", TimeNS: 1795755640392611021, Backend: "cuda",
			Drops:  []DropCount{{Stream: "cam0", Reason: "queue_full", Count: 3}},
			Queues: []QueueDepth{{Name: "bundles", Len: 0, Cap: 16}}},
	} {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(sch, b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	for _, bad := range []string{
		`{"schema":"fusiond.status.v2","robot":"r","time_ns":1,"backend":"cpu","drops":[],"queues":[]}`,
		`{"schema":"fusiond.status.v1","robot":"a.b","time_ns":1,"backend":"cpu","drops":[],"queues":[]}`,
		`{"schema":"fusiond.status.v1","robot":"r","time_ns":"1","backend":"cpu","drops":[],"queues":[]}`,
		`{"schema":"fusiond.status.v1","robot":"r","time_ns":1,"backend":"cpu","drops":[{"stream":"s","reason":"x","count":-1}],"queues":[]}`,
		`{"schema":"fusiond.status.v1","robot":"r","time_ns":1,"backend":"cpu","drops":[]}`,
	} {
		if err := validate(sch, []byte(bad)); err == nil {
			t.Errorf("schema accepts %s", bad)
		}
	}
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
