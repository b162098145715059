package decision

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Append appends d's JSON encoding to b: the bytes encoding/json gives
// (map keys sorted, so equal decisions give equal bytes), several times
// faster, without reflection. The tests hold it to encoding/json byte for
// byte on random decisions and fail when Decision gains a field this
// encoder does not know. A non-finite number is encoding/json's error.
func Append(b []byte, d *Decision) ([]byte, error) {
	if !finite(d.Confidence) || !finite(d.Logit) || !finiteMap(d.Contributions) || !finiteMap(d.Evidence) ||
		!finitePtr(d.BearingDeg) || !finitePtr(d.CameraBearingDeg) {
		return json.Marshal(d) // encoding/json's own error
	}
	b = append(b, `{"schema":`...)
	b = appendString(b, d.Schema)
	b = append(b, `,"robot":`...)
	b = appendString(b, d.Robot)
	b = append(b, `,"kind":`...)
	b = appendString(b, d.Kind)
	if d.Camera != "" {
		b = append(b, `,"camera":`...)
		b = appendString(b, d.Camera)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, d.Seq, 10)
	b = append(b, `,"time_ns":`...)
	b = strconv.AppendInt(b, d.TimeNS, 10)
	b = append(b, `,"confidence":`...)
	b = appendFloat(b, d.Confidence)
	b = append(b, `,"logit":`...)
	b = appendFloat(b, d.Logit)
	b = append(b, `,"contributions":`...)
	b = appendFloatMap(b, d.Contributions)
	b = append(b, `,"missing":`...)
	b = appendStrings(b, d.Missing)
	if len(d.MissingStreams) > 0 {
		b = append(b, `,"missing_streams":`...)
		b = appendStrings(b, d.MissingStreams)
	}
	b = append(b, `,"degraded":`...)
	b = strconv.AppendBool(b, d.Degraded)
	b = append(b, `,"state":`...)
	b = appendString(b, d.State)
	if d.BearingDeg != nil {
		b = append(b, `,"bearing_deg":`...)
		b = appendFloat(b, *d.BearingDeg)
	}
	if d.CameraBearingDeg != nil {
		b = append(b, `,"camera_bearing_deg":`...)
		b = appendFloat(b, *d.CameraBearingDeg)
	}
	b = append(b, `,"evidence":`...)
	b = appendFloatMap(b, d.Evidence)
	b = append(b, `,"latency_ns":`...)
	if d.LatencyNS == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		var scratch [16]string
		for i, k := range sortedKeys(d.LatencyNS, scratch[:]) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = strconv.AppendInt(b, d.LatencyNS[k], 10)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

func finitePtr(f *float64) bool { return f == nil || finite(*f) }

// appendStrings appends a list of strings (null when nil).
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func finiteMap(m map[string]float64) bool {
	for _, v := range m {
		if !finite(v) {
			return false
		}
	}
	return true
}

// sortedKeys returns m's keys in order, in scratch when they fit.
func sortedKeys[V any](m map[string]V, scratch []string) []string {
	keys := scratch[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendFloatMap(b []byte, m map[string]float64) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	var scratch [16]string
	for i, k := range sortedKeys(m, scratch[:]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendFloat(b, m[k])
	}
	return append(b, '}')
}

// appendFloat formats f as encoding/json does for float64.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString quotes s as encoding/json does: plain ASCII directly,
// anything else (escapes, HTML-sensitive characters, non-ASCII) through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
