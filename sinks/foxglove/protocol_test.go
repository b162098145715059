package foxglove

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestParseClientMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *ClientMessage
		err  error
	}{
		{`{"op":"subscribe","subscriptions":[{"id":0,"channelId":3},{"id":1,"channelId":5}]}`,
			&ClientMessage{Op: "subscribe", Subscriptions: []Subscription{{0, 3}, {1, 5}}}, nil},
		{`{"op":"subscribe","subscriptions":[]}`, &ClientMessage{Op: "subscribe", Subscriptions: []Subscription{}}, nil},
		{`{"op":"unsubscribe","subscriptionIds":[0,1]}`, &ClientMessage{Op: "unsubscribe", SubscriptionIDs: []uint32{0, 1}}, nil},
		{`{"op":"subscribe","subscriptions":[{"id":4294967295,"channelId":1}]}`,
			&ClientMessage{Op: "subscribe", Subscriptions: []Subscription{{4294967295, 1}}}, nil},
		{`{"op":"subscribe","subscriptions":[{"id":4294967296,"channelId":1}]}`, nil, ErrMalformed},
		{`{"op":"subscribe","subscriptions":[{"id":-1,"channelId":1}]}`, nil, ErrMalformed},
		{`{"op":"subscribe","subscriptions":[{"id":1.5,"channelId":1}]}`, nil, ErrMalformed},
		{`{"op":"subscribe","subscriptions":[{"id":1,"channelId":1},{"id":1,"channelId":2}]}`, nil, ErrMalformed},
		{`{"op":"subscribe","subscriptions":{}}`, nil, ErrMalformed},
		{`{"op":"unsubscribe","subscriptionIds":["a"]}`, nil, ErrMalformed},
		{`{"op":"advertise","channels":[]}`, nil, ErrUnsupported},
		{`{"op":"getParameters","parameterNames":[]}`, nil, ErrUnsupported},
		{`{"op":"fetchAsset","uri":"file:///etc/passwd","requestId":1}`, nil, ErrUnsupported},
		{`{"op":"nope"}`, nil, ErrMalformed},
		{`{"op":7}`, nil, ErrMalformed},
		{`{}`, nil, ErrMalformed},
		{`[]`, nil, ErrMalformed},
		{`{`, nil, ErrMalformed},
		{``, nil, ErrMalformed},
	} {
		got, err := ParseClientMessage([]byte(tc.in))
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseClientMessage: whatever a client sends, the parser answers a
// message or an error wrapping ErrMalformed or ErrUnsupported, never
// panics, and a subscribe it accepts has distinct ids and few entries.
func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"op":"subscribe","subscriptions":[{"id":0,"channelId":3}]}`,
		`{"op":"unsubscribe","subscriptionIds":[0,1]}`,
		`{"op":"advertise","channels":[]}`, `{"op":"x"}`, `{}`, `[`, `null`,
		`{"op":"subscribe","subscriptions":[{"id":1,"channelId":1},{"id":1,"channelId":2}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseClientMessage(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			if m != nil {
				t.Fatal("message with an error")
			}
			return
		}
		switch m.Op {
		case "subscribe":
			if len(m.Subscriptions) > maxSubscriptions {
				t.Fatal("too many")
			}
			seen := map[uint32]bool{}
			for _, s := range m.Subscriptions {
				if seen[s.ID] {
					t.Fatalf("duplicate id %d", s.ID)
				}
				seen[s.ID] = true
			}
		case "unsubscribe":
			if len(m.SubscriptionIDs) > maxSubscriptions {
				t.Fatal("too many")
			}
		default:
			t.Fatalf("op %q accepted", m.Op)
		}
	})
}

func TestBinaryFrames(t *testing.T) {
	b := appendMessageData(nil, 7, 1795755638492620365, []byte("xyz"))
	want := []byte{1, 7, 0, 0, 0}
	want = binary.LittleEndian.AppendUint64(want, 1795755638492620365)
	want = append(want, "xyz"...)
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("message data % x, want % x", b, want)
	}
	if b := appendTime(nil, 258); !reflect.DeepEqual(b, []byte{2, 2, 1, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("time % x", b)
	}
}
