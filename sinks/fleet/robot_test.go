package fleet

import (
	"testing"

	"github.com/seed-4c364652/fusiond/sinks"
)

func TestParseRobot(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Robot
		ok   bool
	}{
		{"r1", Robot{"r1", "r1", "FUSIOND_r1"}, true},
		{"r1@yard", Robot{"r1", "yard", "FUSIOND_r1"}, true},
		{"robot-7_b", Robot{"robot-7_b", "robot-7_b", "FUSIOND_robot-7_b"}, true},
		{"", Robot{}, false},
		{"r.1", Robot{}, false},
		{"r1@", Robot{}, false},
		{"@d", Robot{}, false},
		{"r1@a.b", Robot{}, false},
		{"r*", Robot{}, false},
	} {
		got, err := ParseRobot(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRobot(%q) = %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			back, ok := robotOf(got.source())
			if !ok || back != got {
				t.Errorf("%q: source read back as %+v, %v", tc.in, back, ok)
			}
			if again, err := ParseRobot(got.Label()); err != nil || again != got {
				t.Errorf("%q: label %q parses as %+v, %v", tc.in, got.Label(), again, err)
			}
		}
	}
}

func FuzzParseRobot(f *testing.F) {
	for _, s := range []string{"r1", "r1@yard", "a@b@c", "", "@", "fusion.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRobot(s)
		if err != nil {
			return
		}
		// A robot that parses makes a source that reads back as itself.
		if back, ok := robotOf(r.source()); !ok || back != r {
			t.Fatalf("%q: %+v read back as %+v, %v", s, r, back, ok)
		}
	})
}

func FuzzAnnouncement(f *testing.F) {
	f.Add([]byte(`{"schema":"fusiond.announce.v1","domain":"r1","server":"fusiond-r1"}`))
	f.Add([]byte(`{"schema":"fusiond.announce.v1","domain":"a.b"}`))
	f.Add([]byte(`{"schema":"x","domain":"r1"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, ok := parseAnnouncement(data)
		if ok && (a.Schema != sinks.AnnounceSchema || !validDomain(a.Domain)) {
			t.Fatalf("accepted %+v", a)
		}
	})
}
