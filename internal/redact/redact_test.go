package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nats://h:4222", "nats://h:4222"},
		{"nats://u:secret@h:4222,nats://h2", "nats://[redacted]@h:4222,nats://h2"},
		{"nats://tok3n@h:4222", "nats://[redacted]@h:4222"},
		{"nats://u:p@ss@h:1", "nats://[redacted]@h:1"},
		{"tls://a:b@h1,tls://c:d@h2", "tls://[redacted]@h1,tls://[redacted]@h2"},
		{`dial "nats://u:p%40ss@10.0.0.2:4222": refused`, `dial "nats://[redacted]@10.0.0.2:4222": refused`},
		{"rtsp://admin:hunter2@cam.local/stream", "rtsp://[redacted]@cam.local/stream"},
		{"mailto-ish user@host stays", "mailto-ish user@host stays"},
		{"seed SUAFCY3V4JVMBGO6CHBCCZT2AVGJ7MFZYILF5MLCSJOTLNSMBJOZ2BSJDY here", "seed [redacted] here"},
		{"public UABGXGG6QHWNN5PONLNDGFFIRMYEJNN2VAQZR27AVLCX63NDYMKDAFCL stays", "public UABGXGG6QHWNN5PONLNDGFFIRMYEJNN2VAQZR27AVLCX63NDYMKDAFCL stays"},
		{"jwt eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJ4In0.c2lnbmF0dXJl end", "jwt [redacted] end"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("nats://u:secret@h:4222")
	f.Add("SUAFCY3V4JVMBGO6CHBCCZT2AVGJ7MFZYILF5MLCSJOTLNSMBJOZ2BSJDY")
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if String(got) != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, String(got))
		}
		if strings.Contains(s, "://") && strings.Contains(got, ":secret@") {
			t.Fatalf("password left in %q", got)
		}
	})
}

func TestSecret(t *testing.T) {
	if Secret("") != "" || Secret("x") != Mark {
		t.Fatal(Secret(""), Secret("x"))
	}
}
