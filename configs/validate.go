package configs

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// fieldError is one validation failure, by key path.
type fieldError struct {
	path string
	msg  string
}

// token is what a robot id or stream name may be: one NATS subject token.
var token = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Length limits of names that become NATS subject tokens, JetStream
// stream names (at most 255 bytes, FUSIOND_<robot> by default) and file
// names (the state directory).
const (
	maxTokenLen      = 64
	maxStreamNameLen = 255
)

// natsSchemes are the URL schemes the NATS client dials.
var natsSchemes = []string{"nats", "tls", "ws", "wss"}

// leafSchemes are the URL schemes of leaf node remotes.
var leafSchemes = []string{"nats", "nats-leaf", "tls", "ws", "wss"}

func (c *Config) validate() []fieldError {
	var errs []fieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, fieldError{path, fmt.Sprintf(format, args...)})
	}
	if !token.MatchString(c.Robot) {
		bad("robot", "%q is not a valid robot id (letters, digits, - and _)", c.Robot)
	} else if len(c.Robot) > maxTokenLen {
		bad("robot", "%d characters: a robot id is at most %d (it names NATS subjects, the JetStream stream and the state directory)", len(c.Robot), maxTokenLen)
	}
	walkFloats(reflect.ValueOf(c).Elem(), "", func(path string, f float64) {
		bad(path, "%v is not a finite number", f)
	})

	c.validateFleet(bad)

	p := c.Pipeline
	if p.QueueCapacity < 1 || p.QueueCapacity > 1<<16 {
		bad("pipeline.queue_capacity", "%d is out of range 1..65536", p.QueueCapacity)
	}
	if l := c.Metrics.Listen; l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil || port == "" {
			bad("metrics.listen", "%q is not host:port (empty turns metrics off)", l)
		}
	}
	errs = append(errs, c.Foxglove.validate()...)
	if r := c.Record; !slices.Contains([]string{"lz4", "zstd", "none"}, r.Compression) {
		bad("record.compression", "%q is not lz4, zstd or none", r.Compression)
	} else if r.ChunkBytes < 1024 || r.ChunkBytes > 1<<30 {
		bad("record.chunk_bytes", "%d is out of range 1024..1073741824", r.ChunkBytes)
	} else if r.FlushInterval < 10*time.Millisecond {
		bad("record.flush_interval", "%v is shorter than 10ms", r.FlushInterval)
	} else if r.QueueCapacity < 1 || r.QueueCapacity > 1<<16 {
		bad("record.queue_capacity", "%d is out of range 1..65536", r.QueueCapacity)
	}
	if c.Record.MaxBytes < 0 {
		bad("record.max_bytes", "%d is negative (0: no limit)", c.Record.MaxBytes)
	}
	if c.Record.MaxDuration < 0 {
		bad("record.max_duration", "%v is negative (0: no limit)", c.Record.MaxDuration)
	}
	if p.Overflow != "drop-oldest" && p.Overflow != "block" {
		bad("pipeline.overflow", "%q is not drop-oldest or block", p.Overflow)
	}
	if p.DrainTimeout < 0 {
		bad("pipeline.drain_timeout", "must not be negative")
	}
	if p.StatusInterval < 100*time.Millisecond {
		bad("pipeline.status_interval", "%v is shorter than 100ms", p.StatusInterval)
	}

	if len(c.Cameras) == 0 && len(c.Microphones) == 0 {
		bad("cameras", "no cameras and no microphones: nothing to fuse")
	}
	names := map[string]string{}
	name := func(path, n string) {
		if !token.MatchString(n) {
			bad(path, "%q is not a valid stream name (letters, digits, - and _)", n)
		} else if len(n) > maxTokenLen {
			bad(path, "%d characters: a stream name is at most %d (it is a NATS subject token)", len(n), maxTokenLen)
		} else if prev, dup := names[n]; dup {
			bad(path, "stream name %q is already used by %s", n, prev)
		}
		names[n] = path
	}
	for i, cam := range c.Cameras {
		at := "cameras." + strconv.Itoa(i)
		name(at+".name", cam.Name)
		if cam.Source == "" {
			bad(at+".source", "empty: name the camera's source kind (docs/CONFIG.md)")
		}
		if cam.Width < 16 || cam.Height < 16 || cam.Width > 8192 || cam.Height > 8192 {
			bad(at+".width", "%d×%d is out of range 16..8192", cam.Width, cam.Height)
		}
		if !(cam.FPS > 0 && cam.FPS <= 1000) {
			bad(at+".fps", "%v is out of range (0, 1000]", cam.FPS)
		}
	}
	for i, mic := range c.Microphones {
		at := "microphones." + strconv.Itoa(i)
		name(at+".name", mic.Name)
		if mic.Source == "" {
			bad(at+".source", "empty: name the microphone's source kind (docs/CONFIG.md)")
		}
		if mic.RateHz < 8000 || mic.RateHz > 384000 {
			bad(at+".rate_hz", "%d is out of range 8000..384000", mic.RateHz)
		}
		if mic.Channels < 1 || mic.Channels > 8 {
			bad(at+".channels", "%d is out of range 1..8", mic.Channels)
		}
		if mic.Chunk < time.Millisecond || mic.Chunk > time.Second {
			bad(at+".chunk", "%v is out of range 1ms..1s", mic.Chunk)
		}
	}

	c.validateRobotFrame(bad)

	sy := c.Sync
	switch sy.Policy {
	case "window", "approximate", "exact":
	default:
		bad("sync.policy", "%q is not window, approximate or exact", sy.Policy)
	}
	if sy.Policy == "window" && len(c.Cameras) > 1 {
		bad("sync.policy", "window takes one camera, not %d: approximate or exact groups several cameras' frames", len(c.Cameras))
	}
	if sy.AudioWindow < 0 || sy.AudioWindow > 10*time.Second {
		bad("sync.audio_window", "%v is out of range 0..10s", sy.AudioWindow)
	}
	if sy.AudioAfter < 0 || sy.AudioAfter > 10*time.Second {
		bad("sync.audio_after", "%v is out of range 0..10s", sy.AudioAfter)
	} else if sy.AudioWindow >= 0 && sy.AudioWindow+sy.AudioAfter <= 0 {
		bad("sync.audio_window", "the window [-%v, +%v] around each frame is empty", sy.AudioWindow, sy.AudioAfter)
	}
	if sy.MaxWait < 0 || sy.MaxWait > 10*time.Second {
		bad("sync.max_wait", "%v is out of range 0..10s", sy.MaxWait)
	} else if sy.MaxWait < sy.AudioAfter {
		bad("sync.max_wait", "%v is shorter than sync.audio_after %v: no frame could wait for the audio after it", sy.MaxWait, sy.AudioAfter)
	}
	for _, o := range []struct {
		key string
		d   time.Duration
	}{{"sync.video_offset", sy.VideoOffset}, {"sync.audio_offset", sy.AudioOffset}} {
		if o.d < -10*time.Second || o.d > 10*time.Second {
			bad(o.key, "%v is out of range -10s..10s", o.d)
		}
	}
	if r := sy.AnalysisRateHz; r != 0 && (r < 8000 || r > 48000) {
		bad("sync.analysis_rate_hz", "%d is out of range 8000..48000 (or 0: the microphone's own)", r)
	} else if r != 0 {
		for i, mic := range c.Microphones {
			// The resampler keeps analysis_rate_hz/gcd filter phases (ingest/resample.MaxPhases).
			if mic.RateHz > 0 && r/gcd(r, mic.RateHz) > 4096 {
				bad(fmt.Sprintf("microphones.%d.rate_hz", i), "%d Hz does not resample to sync.analysis_rate_hz %d Hz (ratio %d/%d is too fine); use a common rate",
					mic.RateHz, r, r/gcd(r, mic.RateHz), mic.RateHz/gcd(r, mic.RateHz))
			}
		}
	}
	if sy.MinAudioCoverage < 0 || sy.MinAudioCoverage > 1 {
		bad("sync.min_audio_coverage", "%v is out of range 0..1", sy.MinAudioCoverage)
	}
	if !slices.Contains([]string{"auto", "cpu", "cuda"}, c.Fuse.Backend) {
		bad("fuse.backend", "%q is not auto, cpu or cuda", c.Fuse.Backend)
	}
	if c.Fuse.Offload && !c.NATS.JetStream.Enabled {
		bad("fuse.offload", "needs nats.jetstream.enabled: feature bundles are stored in JetStream for the workers")
	}
	if c.Fuse.Offload && len(c.Cameras) > 1 {
		bad("fuse.offload", "takes one camera, not %d: the workers fuse one camera's feature bundles", len(c.Cameras))
	}
	if c.Fuse.DecisionInterval < time.Millisecond {
		bad("fuse.decision_interval", "%v is shorter than 1ms", c.Fuse.DecisionInterval)
	}
	if dc := c.Fuse.Decisions; dc.Enabled {
		if !(dc.OffConfidence > 0 && dc.OffConfidence <= dc.OnConfidence && dc.OnConfidence < 1) {
			bad("fuse.decisions.on_confidence", "on %v off %v: want 0 < off_confidence ≤ on_confidence < 1", dc.OnConfidence, dc.OffConfidence)
		}
		if dc.Heartbeat < 0 {
			bad("fuse.decisions.heartbeat", "%v is negative", dc.Heartbeat)
		}
		if dc.StepWindow < time.Millisecond || dc.StepWindow > 5*time.Second {
			bad("fuse.decisions.step_window", "%v: want 1ms to 5s", dc.StepWindow)
		}
		if dc.AudioStepWindow < time.Millisecond || dc.AudioStepWindow > dc.StepWindow {
			bad("fuse.decisions.audio_step_window", "%v: want 1ms to step_window (%v)", dc.AudioStepWindow, dc.StepWindow)
		}
		if dc.MinOff < 0 || dc.MinOff > 10*time.Second {
			bad("fuse.decisions.min_off", "%v: want 0s to 10s", dc.MinOff)
		}
		if dc.Model == "" {
			bad("fuse.decisions.model", "empty: want shipped, handset or a model file")
		}
	}
	if ft := c.Fuse.Features; ft.Video {
		if ft.FaceEvery < -1 || ft.FaceEvery == 0 || ft.FaceEvery > 1000 {
			bad("fuse.features.face_every", "%d is not -1 (off) or 1..1000", ft.FaceEvery)
		}
		if ft.FaceMinPx < 24 || ft.FaceMinPx > 1000 {
			bad("fuse.features.face_min_px", "%d is out of range 24..1000 (the cascades' window is 24 px)", ft.FaceMinPx)
		}
		if len(ft.FaceCascades) == 0 && ft.FaceEvery > 0 {
			bad("fuse.features.face_cascades", "empty: name at least one of %s, or set face_every: -1", strings.Join(FaceCascadeNames, ", "))
		}
		for i, n := range ft.FaceCascades {
			if !slices.Contains(FaceCascadeNames, n) {
				bad(fmt.Sprintf("fuse.features.face_cascades.%d", i), "%q is not one of %s", n, strings.Join(FaceCascadeNames, ", "))
			}
		}
	}
	if ft := c.Fuse.Features; ft.Audio {
		if !(ft.SpeedOfSound >= 200 && ft.SpeedOfSound <= 2000) {
			bad("fuse.features.speed_of_sound", "%v m/s is out of range 200..2000", ft.SpeedOfSound)
		}
	}

	if l := c.NATS.Embedded.Listen; l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil {
			bad("nats.embedded.listen", "%q is not host:port", l)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("nats.embedded.listen", "%q has no valid port", l)
		}
	}
	validateNATS(&c.NATS, bad)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if !slices.Contains([]string{"auto", "text", "json"}, c.Log.Format) {
		bad("log.format", "%q is not auto, text or json", c.Log.Format)
	}
	return errs
}

// validateNATS checks the nats: section beyond the listen address.
func validateNATS(n *NATS, bad func(path, format string, args ...any)) {
	auths := 0
	for _, set := range []bool{n.User != "" || n.Password != "", n.Token != "", n.NKeyFile != "", n.CredsFile != ""} {
		if set {
			auths++
		}
	}
	if auths > 1 {
		bad("nats", "more than one of user/password, token, nkey_file and creds_file is set")
	}
	if n.PingInterval < 100*time.Millisecond || n.PingInterval > 2*time.Minute {
		bad("nats.ping_interval", "%v is out of range 100ms..2m", n.PingInterval)
	}
	if n.ReconnectWait < 10*time.Millisecond || n.ReconnectWait > time.Minute {
		bad("nats.reconnect_wait", "%v is out of range 10ms..1m", n.ReconnectWait)
	}
	tlsPair := func(path string, t TLS) {
		if (t.CertFile == "") != (t.KeyFile == "") {
			bad(path, "cert_file and key_file go together")
		}
	}
	tlsPair("nats.tls", n.TLS)
	js := n.JetStream
	if !slices.Contains([]string{"old", "new"}, js.Discard) {
		bad("nats.jetstream.discard", "%q is not old or new", js.Discard)
	}
	if !slices.Contains([]string{"s2", "none"}, js.Compression) {
		bad("nats.jetstream.compression", "%q is not s2 or none", js.Compression)
	}
	if js.DuplicateWindow < 2*time.Minute {
		bad("nats.jetstream.duplicate_window", "%v is shorter than 2m: a re-send after a server restart could be stored twice", js.DuplicateWindow)
	}
	if js.MaxAge < 0 || js.MaxAge > 0 && js.MaxAge < js.DuplicateWindow {
		bad("nats.jetstream.max_age", "%v must be 0 (no limit) or at least the duplicate window", js.MaxAge)
	}
	if js.MaxBytes < 0 {
		bad("nats.jetstream.max_bytes", "%d is negative", js.MaxBytes)
	}
	if js.Replicas < 1 || js.Replicas > 5 {
		bad("nats.jetstream.replicas", "%d is out of range 1..5", js.Replicas)
	}
	if js.Outbox < 1 || js.Outbox > 1<<20 {
		bad("nats.jetstream.outbox", "%d is out of range 1..1048576", js.Outbox)
	}
	if js.Window < 1 || js.Window > js.Outbox {
		bad("nats.jetstream.window", "%d is out of range 1..outbox (%d)", js.Window, js.Outbox)
	}
	if js.AckTimeout < 10*time.Millisecond || js.AckTimeout > time.Minute {
		bad("nats.jetstream.ack_timeout", "%v is out of range 10ms..1m", js.AckTimeout)
	}
	for _, r := range []struct {
		key, name string
		max       int
	}{{"nats.jetstream.stream", js.Stream, maxStreamNameLen}, {"nats.jetstream.domain", js.Domain, maxTokenLen}, {"nats.embedded.domain", n.Embedded.Domain, maxTokenLen}} {
		if strings.ContainsAny(r.name, " .*>\t/\\") || !utf8.ValidString(r.name) || strings.ContainsFunc(r.name, unicode.IsControl) {
			bad(r.key, "%q: stream and domain names take no spaces, dots, slashes, wildcards or control characters", r.name)
		} else if len(r.name) > r.max {
			bad(r.key, "%d characters: at most %d", len(r.name), r.max)
		}
	}
	if n.Lease.TTL < time.Second || n.Lease.TTL > 10*time.Minute {
		bad("nats.lease.ttl", "%v is out of range 1s..10m", n.Lease.TTL)
	}
	if js.OutboxSync < time.Millisecond || js.OutboxSync > 10*time.Second {
		bad("nats.jetstream.outbox_sync", "%v is out of range 1ms..10s", js.OutboxSync)
	}
	if js.OutboxMaxBytes < 1<<20 {
		bad("nats.jetstream.outbox_max_bytes", "%d is under 1 MiB", js.OutboxMaxBytes)
	}
	if n.URL != "" {
		checkURLs("nats.url", n.URL, natsSchemes, bad)
	}
	for i, r := range n.Embedded.Leaf.Remotes {
		checkURLs(fmt.Sprintf("nats.embedded.leaf.remotes.%d", i), r, leafSchemes, bad)
	}
	if n.Sensors.Every < 1 {
		bad("nats.sensors.every", "%d is under 1", n.Sensors.Every)
	}
	if n.Sensors.JPEGQuality < 1 || n.Sensors.JPEGQuality > 100 {
		bad("nats.sensors.jpeg_quality", "%d is out of range 1..100", n.Sensors.JPEGQuality)
	}
	e := n.Embedded
	if e.MaxStore < 1<<20 {
		bad("nats.embedded.max_store", "%d is under 1 MiB", e.MaxStore)
	}
	if e.MaxMemory < 0 {
		bad("nats.embedded.max_memory", "%d is negative", e.MaxMemory)
	}
	if e.SyncInterval < 0 {
		bad("nats.embedded.sync_interval", "%v is negative", e.SyncInterval)
	}
	if e.MaxPayload < 1024 || e.MaxPayload > 64<<20 {
		bad("nats.embedded.max_payload", "%d is out of range 1 KiB..64 MiB", e.MaxPayload)
	}
	tlsPair("nats.embedded.tls", e.TLS)
	if e.TLS.Verify && e.TLS.CAFile == "" {
		bad("nats.embedded.tls.verify", "needs ca_file")
	}
	for i, u := range e.Users {
		if u.User == "" || u.Password == "" {
			bad(fmt.Sprintf("nats.embedded.users.%d", i), "needs user and password")
		}
		if !slices.Contains([]string{"", "reader", "operator", "admin"}, u.Role) {
			bad(fmt.Sprintf("nats.embedded.users.%d.role", i), "%q is not reader, operator or admin", u.Role)
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// checkURLs checks a comma-separated list of server URLs: each a known
// scheme (or none: host:port) and a host.
func checkURLs(path, list string, schemes []string, bad func(path, format string, args ...any)) {
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		s := raw
		if !strings.Contains(s, "://") {
			s = schemes[0] + "://" + s
		}
		// Userinfo is the server's business (and may be redacted, as in a
		// recording's config): only scheme and host are checked.
		scheme, rest, _ := strings.Cut(s, "://")
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
			rest = rest[at+1:]
		}
		u, err := url.Parse(scheme + "://" + rest)
		switch {
		case err != nil:
			bad(path, "%q is not a URL", raw)
		case !slices.Contains(schemes, strings.ToLower(u.Scheme)):
			bad(path, "%q: scheme %q is not one of %v", raw, u.Scheme, schemes)
		case u.Hostname() == "":
			bad(path, "%q has no host", raw)
		}
	}
}

// walkFloats calls f for every NaN or infinite float in v (a struct,
// slice or map of them), with its YAML key path.
func walkFloats(v reflect.Value, path string, f func(path string, x float64)) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
			f(path, x)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !t.Field(i).IsExported() {
				continue
			}
			walkFloats(v.Field(i), join(name), f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkFloats(v.Index(i), join(strconv.Itoa(i)), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			walkFloats(v.MapIndex(k), join(fmt.Sprint(k)), f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkFloats(v.Elem(), path, f)
		}
	}
}

func (c *Config) validateFleet(bad func(path, format string, args ...any)) {
	f := c.Fleet
	if !token.MatchString(f.Stream) || len(f.Stream) > maxStreamNameLen {
		bad("fleet.stream", "%q: stream names take letters, digits, - and _", f.Stream)
	}
	if f.HubDomain != "" && (!token.MatchString(f.HubDomain) || len(f.HubDomain) > maxTokenLen) {
		bad("fleet.hub_domain", "%q: domain names take letters, digits, - and _", f.HubDomain)
	}
	if f.Replicas < 1 || f.Replicas > 5 {
		bad("fleet.replicas", "%d is out of range 1..5", f.Replicas)
	}
	if f.MaxAge < 0 {
		bad("fleet.max_age", "%v is negative", f.MaxAge)
	}
	if f.MaxBytes < 0 {
		bad("fleet.max_bytes", "%d is negative", f.MaxBytes)
	}
	if f.DuplicateWindow < time.Minute {
		bad("fleet.duplicate_window", "%v is shorter than 1m", f.DuplicateWindow)
	}
	if a := c.NATS.Embedded.Leaf.AnnounceInterval; a < 100*time.Millisecond {
		bad("nats.embedded.leaf.announce_interval", "%v is shorter than 100ms", a)
	}
	if f.CheckInterval < 100*time.Millisecond {
		bad("fleet.check_interval", "%v is shorter than 100ms", f.CheckInterval)
	}
	if d := c.NATS.Embedded.Domain; d != "" && d == f.HubDomain && len(c.NATS.Embedded.Leaf.Remotes) > 0 {
		bad("nats.embedded.domain", "%q is the hub's domain (fleet.hub_domain): a robot needs its own", d)
	}
}

// validate checks the foxglove: section.
func (f *Foxglove) validate() []fieldError {
	var errs []fieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, fieldError{"foxglove." + path, fmt.Sprintf(format, args...)})
	}
	if l := f.Listen; l != "" {
		host, port, err := net.SplitHostPort(l)
		ip := net.ParseIP(host)
		switch {
		case err != nil || port == "":
			bad("listen", "%q is not host:port (empty turns the live view off)", l)
		case host != "localhost" && (ip == nil || !ip.IsLoopback()):
			bad("listen", "%q is not a loopback address: the live view carries the cameras and microphones and has no authentication (reach it through an SSH tunnel)", l)
		}
	}
	if f.ImageWidth != 0 && (f.ImageWidth < 16 || f.ImageWidth > 8192) {
		bad("image_width", "%d is out of range 16..8192 (0: as captured)", f.ImageWidth)
	}
	if !(f.ImageFPS > 0 && f.ImageFPS <= 120) {
		bad("image_fps", "%v is out of range (0, 120]", f.ImageFPS)
	}
	if f.JPEGQuality < 1 || f.JPEGQuality > 100 {
		bad("jpeg_quality", "%d is out of range 1..100", f.JPEGQuality)
	}
	if f.QueueCapacity < 1 || f.QueueCapacity > 1<<16 {
		bad("queue_capacity", "%d is out of range 1..65536", f.QueueCapacity)
	}
	if f.WriteTimeout < 100*time.Millisecond || f.WriteTimeout > time.Minute {
		bad("write_timeout", "%v is out of range 100ms..1m", f.WriteTimeout)
	}
	return errs
}
