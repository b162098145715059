package configs

import (
	"time"
)

// Config is everything fusiond run needs. Its YAML form is documented, key by
// key, in default.yaml.
type Config struct {
	Robot string `yaml:"robot"`
	// StateDir holds what must survive a restart: the write-ahead outbox
	// of decisions not yet acked. Empty: $XDG_STATE_HOME/fusiond/<robot>
	// (~/.local/state/fusiond/<robot>); see StatePath.
	StateDir    string       `yaml:"state_dir"`
	Pipeline    Pipeline     `yaml:"pipeline"`
	Cameras     []Camera     `yaml:"cameras"`
	Microphones []Microphone `yaml:"microphones"`
	Sync        Sync         `yaml:"sync"`
	Fuse        Fuse         `yaml:"fuse"`
	NATS        NATS         `yaml:"nats"`
	Log         Log          `yaml:"log"`
	Record      Record       `yaml:"record"`
	Metrics     Metrics      `yaml:"metrics"`
	Fleet       Fleet        `yaml:"fleet"`
	Foxglove    Foxglove     `yaml:"foxglove"`

	loc *locator // where each key came from (Where); set by Parse
	// deprecated lists the deprecated keys a config set, which resolve
	// mapped onto their replacements (Deprecation); mapped says, by the
	// replacement's key path, which deprecated key it came from.
	deprecated []string
	mapped     map[string]string
}

// Fleet configures `fusiond fleet` on a hub (docs/FLEET.md): the one hub
// stream that sources every robot's decision log across its JetStream
// domain.
type Fleet struct {
	// Stream is the hub stream's name (FUSIOND_FLEET).
	Stream string `yaml:"stream"`
	// HubDomain is the hub's JetStream domain; empty for the local one
	// of the server connected to.
	HubDomain string `yaml:"hub_domain"`
	// Replicas wanted (1..5); fewer when the hub cluster has fewer nodes.
	Replicas int `yaml:"replicas"`
	// Limits of the hub stream (0: none).
	MaxAge   time.Duration `yaml:"max_age"`
	MaxBytes int64         `yaml:"max_bytes"`
	// DuplicateWindow: decisions sourced twice within it (a reset source)
	// are stored once, by Nats-Msg-Id.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// CheckInterval: how often `fleet watch` checks the sources (stalls,
	// recreated robot streams) and adds robots that announced themselves.
	CheckInterval time.Duration `yaml:"check_interval"`
}

// Foxglove configures the live view: a Foxglove WebSocket server that
// Foxglove connects to as a live source (docs/VIEWING.md).
type Foxglove struct {
	// Listen is the loopback TCP address of the server; empty turns the
	// live view off.
	Listen string `yaml:"listen"`
	// ImageWidth is the width of the JPEG images sent (the height keeps
	// the aspect); 0 sends them at the captured size.
	ImageWidth int `yaml:"image_width"`
	// ImageFPS is the most images per second sent per camera.
	ImageFPS    float64 `yaml:"image_fps"`
	JPEGQuality int     `yaml:"jpeg_quality"`
	// QueueCapacity bounds each viewer's queue of messages; a slow viewer
	// loses its oldest ones (counted), never slowing the pipeline.
	QueueCapacity int `yaml:"queue_capacity"`
	// WriteTimeout cuts off a viewer whose socket accepts nothing for
	// this long.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// Metrics configures the metrics, health and pprof HTTP listener
// (docs/METRICS.md).
type Metrics struct {
	// Listen is the TCP address of /metrics, /healthz and /debug/pprof/;
	// empty turns the listener off.
	Listen string `yaml:"listen"`
}

// Pipeline sizes the queues between stages and the shutdown.
type Pipeline struct {
	QueueCapacity  int           `yaml:"queue_capacity"`
	Overflow       string        `yaml:"overflow"`
	DrainTimeout   time.Duration `yaml:"drain_timeout"`
	StatusInterval time.Duration `yaml:"status_interval"`
}

// Record configures MCAP recording (fusiond record, run --record, and the
// control plane's record.start).
type Record struct {
	// Dir is the only directory the control plane's record.start writes
	// in (default: fusiond/<robot>/recordings under $XDG_STATE_HOME or
	// ~/.local/state).
	Dir           string        `yaml:"dir"`
	Compression   string        `yaml:"compression"`
	ChunkBytes    int           `yaml:"chunk_bytes"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	QueueCapacity int           `yaml:"queue_capacity"`
	// MaxBytes and MaxDuration end a recording the control plane started
	// (cleanly, logged) at this size or age; 0: no limit.
	MaxBytes    int64         `yaml:"max_bytes"`
	MaxDuration time.Duration `yaml:"max_duration"`
}

// Camera is one video source: the keys every camera has, and in Params
// the keys of its source kind (ingest/source documents, decodes and checks
// them; docs/CONFIG.md lists them).
type Camera struct {
	Name   string  `yaml:"name"`
	Source string  `yaml:"source"`
	Width  int     `yaml:"width"`
	Height int     `yaml:"height"`
	FPS    float64 `yaml:"fps"`
	// Pose is where the camera sits on the robot and where it looks.
	Pose   Pose   `yaml:"pose"`
	Params Params `yaml:",inline"`
}

// Pose is a camera's pose in the robot frame: x to the robot's right, y
// ahead, z up, in metres from the robot's origin; yaw turns the optical
// axis to the right of straight ahead, pitch up from level. A bearing in
// the camera's frame is the robot-frame bearing less YawDeg (fuse/frame.go);
// pitch and the position do not enter an azimuth (a bearing has no range to
// correct the parallax with), and are recorded for the 3-D work to come.
type Pose struct {
	YawDeg   float64 `yaml:"yaw_deg"`
	PitchDeg float64 `yaml:"pitch_deg"`
	// HFOVDeg is the horizontal field of view, for the bearing of a pixel
	// column (pinhole).
	HFOVDeg float64 `yaml:"hfov_deg"`
	X       float64 `yaml:"x"`
	Y       float64 `yaml:"y"`
	Z       float64 `yaml:"z"`
}

// Microphone is one audio source: the keys every microphone has, and in
// Params the keys of its source kind (ingest/source).
type Microphone struct {
	Name     string        `yaml:"name"`
	Source   string        `yaml:"source"`
	RateHz   int           `yaml:"rate_hz"`
	Channels int           `yaml:"channels"`
	Chunk    time.Duration `yaml:"chunk"`
	// Geometry is each channel's position in the robot frame (x to the
	// right, y ahead, z up, metres), one per channel from the first, for
	// the direction of arrival; empty: no bearing. An entry that takes the
	// default geometry with another channel count than the default's has
	// none.
	Geometry []MicPosition `yaml:"geometry"`
	Params   Params        `yaml:",inline"`
}

// Sync configures the synchroniser.
type Sync struct {
	Policy           string        `yaml:"policy"`
	AudioWindow      time.Duration `yaml:"audio_window"`
	AudioAfter       time.Duration `yaml:"audio_after"`
	MaxWait          time.Duration `yaml:"max_wait"`
	MinAudioCoverage float64       `yaml:"min_audio_coverage"`
	VideoOffset      time.Duration `yaml:"video_offset"`
	AudioOffset      time.Duration `yaml:"audio_offset"`
	EstimateDrift    bool          `yaml:"estimate_drift"`
	AnalysisRateHz   int           `yaml:"analysis_rate_hz"`
}

// Fuse configures fusion.
type Fuse struct {
	Backend          string        `yaml:"backend"`
	DecisionInterval time.Duration `yaml:"decision_interval"`
	Activity         Activity      `yaml:"activity"`
	Features         Features      `yaml:"features"`
	Decisions        Decisions     `yaml:"decisions"`
	// Offload leaves the head and the trackers to fusion workers on a hub
	// (docs/FLEET.md, "Fusion workers"): the daemon publishes feature
	// bundles on fusion.<robot>.offload.tick instead of decisions.
	Offload bool `yaml:"offload"`
}

// Decisions configures the decision kinds beside activity (speech,
// presence, motion, sound_event, speaker; docs/DECISIONS.md).
type Decisions struct {
	Enabled bool `yaml:"enabled"`
	// Model is the fusion head: "shipped" (configs/models/fusion-head.txt,
	// built in), "handset" (hand-set weights) or a model file's path.
	Model string `yaml:"model"`
	// StepWindow is the span of bundles each frame-rate step reads;
	// AudioStepWindow the shorter span its audio evidence reads.
	StepWindow      time.Duration `yaml:"step_window"`
	AudioStepWindow time.Duration `yaml:"audio_step_window"`
	OnConfidence    float64       `yaml:"on_confidence"`
	OffConfidence   float64       `yaml:"off_confidence"`
	// MinOff: an active kind ends once below off_confidence this long.
	MinOff           time.Duration `yaml:"min_off"`
	Heartbeat        time.Duration `yaml:"heartbeat"`
	ChangeBearingDeg float64       `yaml:"change_bearing_deg"`
}

// Features configures the perception features published in decisions'
// evidence (docs/FEATURES.md).
type Features struct {
	// Audio computes the microphone's audio features: level, spectral
	// shape, pitch, onsets, voice activity and, with MicPositions, the
	// direction of arrival.
	Audio bool `yaml:"audio"`
	// MicPositions is deprecated: microphones[0].geometry, onto which it
	// is mapped (with a warning) when set; empty: unset.
	MicPositions []MicPosition `yaml:"mic_positions"`
	// SpeedOfSound in m/s.
	SpeedOfSound float64 `yaml:"speed_of_sound"`
	// Video computes the camera's visual features (fuse/vision: motion
	// grid, MOG2 foreground, faces, their bearing and mouth motion) and,
	// with Audio, the audio–visual synchrony and bearing agreement.
	Video bool `yaml:"video"`
	// CameraHFOVDeg is deprecated: cameras[i].pose.hfov_deg, onto which it
	// is mapped (with a warning) when set; 0: unset.
	CameraHFOVDeg float64 `yaml:"camera_hfov_deg"`
	// FaceEvery spreads one face-detector pass over this many frames
	// (faces smaller than 48 px of a 640 px frame: three times as many);
	// faces are tracked on every frame. -1: no face detection.
	FaceEvery int `yaml:"face_every"`
	// FaceMinPx is the smallest face detected, in frame pixels (24 up).
	FaceMinPx int `yaml:"face_min_px"`
	// FaceCascades are the face cascades run (FaceCascadeNames); their
	// detections are merged.
	FaceCascades []string `yaml:"face_cascades"`
}

// FaceCascadeNames are the face cascades fuse.features.face_cascades may
// name (Debian's opencv-data; haar_profile runs on the frame and its
// mirror image, for faces turned either way).
var FaceCascadeNames = []string{"lbp_frontal", "haar_frontal_alt", "haar_frontal_alt2", "haar_frontal_default", "haar_profile"}

// MicPosition is one microphone channel's position in the robot frame, in
// metres (x to the right, y ahead, z up; z does not enter the azimuth).
type MicPosition struct {
	X float64 `yaml:"x"`
	Y float64 `yaml:"y"`
	Z float64 `yaml:"z"`
}

// Activity weighs the evidence of the activity decision.
type Activity struct {
	Prior        float64 `yaml:"prior"`
	MotionWeight float64 `yaml:"motion_weight"`
	MotionRef    float64 `yaml:"motion_ref"`
	AudioWeight  float64 `yaml:"audio_weight"`
	AudioRefDBFS float64 `yaml:"audio_ref_dbfs"`
}

// NATS says where decisions go.
type NATS struct {
	URL string `yaml:"url"`
	// Authentication to URL: at most one of user/password, token, nkey
	// seed file, creds file.
	User      string `yaml:"user"`
	Password  string `yaml:"password"`
	Token     string `yaml:"token"`
	NKeyFile  string `yaml:"nkey_file"`
	CredsFile string `yaml:"creds_file"`
	TLS       TLS    `yaml:"tls"`
	// PingInterval and ReconnectWait for URL (reconnects go on forever).
	PingInterval  time.Duration `yaml:"ping_interval"`
	ReconnectWait time.Duration `yaml:"reconnect_wait"`
	JetStream     JetStream     `yaml:"jetstream"`
	// Control starts the control-plane service (nats micro "fusiond").
	Control  bool     `yaml:"control"`
	Sensors  Sensors  `yaml:"sensors"`
	Embedded Embedded `yaml:"embedded"`
	Signing  Signing  `yaml:"signing"`
	Lease    Lease    `yaml:"lease"`
}

// Signing signs every published decision with the robot's ed25519 key
// (header Fusiond-Signature; docs/SECURITY.md).
type Signing struct {
	// KeyFile holds the robot's nkey seed, created (mode 0600) on first
	// start when absent. Empty: $XDG_STATE_HOME/fusiond/<robot>/signing.nk
	// (~/.local/state when XDG_STATE_HOME is unset).
	KeyFile string `yaml:"key_file"`
}

// Lease makes one daemon per robot id on a server: a key in the JetStream
// KV bucket FUSIOND_LEASES, renewed every TTL/3, taken over after TTL.
type Lease struct {
	TTL time.Duration `yaml:"ttl"`
}

// Sensors publishes samples on fusion.<robot>.sensor.<stream>.<format>.
type Sensors struct {
	Enabled     bool `yaml:"enabled"`
	Every       int  `yaml:"every"`
	JPEGQuality int  `yaml:"jpeg_quality"`
}

// TLS names certificate files.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Verify (embedded listener only) requires client certificates
	// signed by CAFile.
	Verify bool `yaml:"verify"`
}

// JetStream configures the decision log and its outbox.
type JetStream struct {
	Enabled bool   `yaml:"enabled"`
	Domain  string `yaml:"domain"`
	Stream  string `yaml:"stream"`
	// Limits: age, bytes (0: none); discard old or new at the limit.
	MaxAge          time.Duration `yaml:"max_age"`
	MaxBytes        int64         `yaml:"max_bytes"`
	Discard         string        `yaml:"discard"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	Compression     string        `yaml:"compression"`
	Replicas        int           `yaml:"replicas"`
	// Outbox: decisions published and not yet acked, at most.
	Outbox int `yaml:"outbox"`
	// Window: decisions sent and not yet acked, at most.
	Window     int           `yaml:"window"`
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// OutboxSync: how often the outbox file is fsynced; a power cut
	// loses at most this long of decisions not yet acked.
	OutboxSync time.Duration `yaml:"outbox_sync"`
	// OutboxMaxBytes caps the outbox files in state_dir.
	OutboxMaxBytes int64 `yaml:"outbox_max_bytes"`
}

// Embedded configures the in-process nats-server used when URL is empty.
type Embedded struct {
	Listen   string `yaml:"listen"`
	StoreDir string `yaml:"store_dir"`
	// JetStream caps, in bytes.
	MaxStore  int64 `yaml:"max_store"`
	MaxMemory int64 `yaml:"max_memory"`
	// SyncInterval: how often JetStream fsyncs (0: the server's 2m).
	SyncInterval time.Duration `yaml:"sync_interval"`
	MaxPayload   int32         `yaml:"max_payload"`
	// Domain: the JetStream domain. Empty with leaf remotes: the robot
	// id, so the decision log stays on the robot, apart from the hub's.
	Domain string `yaml:"domain"`
	// TLS for the TCP listener: cert_file and key_file make it required.
	TLS   TLS            `yaml:"tls"`
	Users []EmbeddedUser `yaml:"users"`
	Leaf  Leaf           `yaml:"leaf"`
}

// EmbeddedUser may connect to the embedded server's TCP listener with
// the permissions of its role (reader, operator or admin; empty: reader;
// docs/SECURITY.md), plus the publish and subscribe subjects listed.
type EmbeddedUser struct {
	User      string   `yaml:"user"`
	Password  string   `yaml:"password"`
	Role      string   `yaml:"role"`
	Publish   []string `yaml:"publish"`
	Subscribe []string `yaml:"subscribe"`
}

// Leaf joins the embedded server to a fleet hub as a leaf node. Each
// remote is a URL, or the comma-separated URLs of one hub cluster's
// nodes.
type Leaf struct {
	Remotes     []string `yaml:"remotes"`
	Credentials string   `yaml:"credentials"`
	// AnnounceInterval: how often the server announces its domain to the
	// hub (fusiond.fleet.announce.<domain>).
	AnnounceInterval time.Duration `yaml:"announce_interval"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}
