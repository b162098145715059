package fuse

import (
	"fmt"
	"strings"
)

// FeatureInfo documents one feature: its evidence name, unit, range and the
// window it is measured over. FeatureTable is the one list of them;
// docs/FEATURES.md is generated from it (go test ./fuse -run
// TestFeatureDocs -update).
type FeatureInfo struct {
	Name   string // evidence key
	Unit   string
	Range  string
	Window string
	Doc    string
	Where  string // the Go type or package that computes it
}

// FeatureTable lists every feature fusiond computes.
var FeatureTable = []FeatureInfo{
	// Activity (per decision interval).
	{"motion_energy", "grey levels", "[0, 252]", "decision interval (mean over bundles)", "mean over the 8×8-pixel block grid of each block's luma change beyond MotionFloor (3 grey levels)", "fuse.Activity"},
	{"motion_x", "fraction of width", "[0, 1]", "decision interval", "motion-energy-weighted centre of the moving blocks, from the left edge; missing when nothing moved", "fuse.Activity"},
	{"motion_y", "fraction of height", "[0, 1]", "decision interval", "as motion_x, from the top edge", "fuse.Activity"},
	{"audio_level_dbfs", "dBFS", "[-120, 0]", "decision interval", "10·log10 of the mean square over all channels (a full-scale square wave is 0 dBFS)", "fuse.Activity"},
	{"audio_coverage", "fraction", "[0, 1]", "decision interval", "fraction of the bundles' audio that came from real chunks", "fuse.Activity"},

	// Audio, per bundle.
	{"audio_rms", "full scale", "[0, 1]", "bundle audio window (sync.audio_window, 100 ms)", "root mean square over all channels of the finite samples", "fuse.AudioFeatures"},
	{"audio_rms_dbfs", "dBFS", "[-120, 0]", "bundle audio window", "20·log10(audio_rms), -120 for digital silence", "fuse.AudioFeatures"},
	{"audio_zcr", "crossings per second", "[0, rate/2]", "bundle audio window", "zero-crossing rate of the channel mix", "fuse.AudioFeatures"},
	{"audio_clip_fraction", "fraction", "[0, 1]", "bundle audio window", "fraction of samples at or beyond ±0.999 full scale", "fuse.AudioFeatures"},
	{"audio_centroid_hz", "Hz", "[0, rate/2]", "analysis frame: the newest FFT-size frames (2048 at 48 kHz, 42.7 ms)", "power-weighted mean frequency; missing on silence", "fuse.AudioFeatures"},
	{"audio_flatness", "ratio", "[0, 1]", "analysis frame", "geometric over arithmetic mean of the power spectrum (1: white noise, →0: a tone); missing on silence", "fuse.AudioFeatures"},
	{"audio_tonality", "fraction", "[0, 1]", "analysis frame", "fraction of the power within ±2 bins of the strongest bin (≈1 for a pure tone)", "fuse.AudioFeatures"},
	{"audio_flux_db", "dB", "[0, ∞)", "analysis frame and the previous bundle's", "rectified spectral flux: mean over the 40 mel bands of the rise in log-mel power", "fuse.AudioFeatures"},
	{"audio_onset", "boolean (0/1)", "{0, 1}", "flux history of 0.5 s; refractory gap 100 ms", "1 when the flux exceeds median + 3 dB of the last 0.5 s and no onset fired in the gap", "fuse.AudioFeatures"},
	{"audio_logmel", "ln(power)", "[ln 1e-10, ~13]", "analysis frame", "40 triangular mel bands (HTK mel, 20 Hz to rate/2) of the power spectrum, by the Backend; not in evidence (a vector)", "fuse.AudioFeatures"},
	{"audio_mfcc", "ln(power), DCT-II", "unbounded", "analysis frame", "13 MFCC: orthonormal DCT-II of the log-mel bands, by the Backend's Dense; not in evidence (a vector)", "fuse.AudioFeatures"},
	{"audio_pitch_hz", "Hz", "[60, 500]", "analysis frame, decimated to ~8 kHz", "YIN fundamental frequency; missing when unvoiced (no dip under 0.3)", "fuse.AudioFeatures"},
	{"audio_harmonicity", "ratio", "[0, 1]", "analysis frame", "1 − the YIN dip at the pitch period (1: perfectly periodic)", "fuse.AudioFeatures"},
	{"vad_speech", "boolean (0/1)", "{0, 1}", "per bundle (10 ms frames), with 80 ms hangover", "voice activity: six sub-band SNRs against a tracked noise floor, gated by pitch and harmonicity (≥ 0.7), flatness (≤ 0.3), tonality (≤ 0.95) and at least 3 spectral peaks within 20 dB below 5 kHz, so a pure tone or white noise is not speech; on after 2 voiced frames, 3 unvoiced ones (6 + 3 dB over the floor, harmonicity ≤ 0.35) or one loud speech-shaped frame (6 + 6 dB), the last two confirmed by a voice within 250 ms", "fuse.VAD"},
	{"vad_score", "log-likelihood ratio", "[-10, 10]", "per bundle", "the VAD's smoothed frame score before the decision threshold 0: the weighted sub-band SNR less 6 dB for a voiced frame, at most 2 for an unvoiced one, minus the SNR for a pure tone (tonality ≥ 0.99: a chime, a beep), -1 for anything else (including an unvoiced sound that no voice followed within 250 ms, until it pauses for 100 ms)", "fuse.VAD"},
	{"doa_bearing_deg", "degrees, 0 ahead, + right, robot frame", "[-90, 90]", "speech frames of the last ~1 s (exponential, τ = 1 s)", "direction of arrival: GCC-PHAT of each microphone with the first (Backend) over speech frames, steered over the microphone's `geometry` (robot-frame positions) in 1° steps, located by the centroid (in sin θ) of the peak above half height; missing until speech was heard, and 2 s after the last speech frame (sooner after a lone one)", "fuse.DOA"},
	{"doa_bearing_std_deg", "degrees", "[0, 90]", "as doa_bearing_deg", "uncertainty: the steered peak's full width at half height / 2.355 / √(speech frames in the smoothing), at least half the bearing one lag step spans there", "fuse.DOA"},

	// Audio, per Activity decision interval (fuse.ActivityConfig.AudioFeatures;
	// the decision also carries the latest value within the interval of each
	// per-bundle audio feature above).
	{"vad_speech_fraction", "fraction", "[0, 1]", "decision interval", "fraction of the interval's bundles with vad_speech on", "fuse.Activity"},
	{"audio_onsets", "count", "[0, bundles]", "decision interval", "onsets in the interval", "fuse.Activity"},

	// Per decision step (fuse.decisions.step_window): the rises the head
	// reads beside the window's means, and what the tracker times a speech
	// onset or end by.
	{"audio_level_rise_db", "dB", "unbounded", "the step's audio window and the one before it", "the audio level of the step's audio window less that of the window before it", "fuse.Activity"},
	{"motion_rise", "log scale", "[-4, 4]", "the step window and the one before it", "the rise of ln(1 + 20 × motion_energy), clamped to [0, 4], from the window before to the step's", "fuse.Activity"},
	{"vad_on_age_ns", "ns", "≥ 0", "step window", "how long before the step the speech began that the VAD last turned on in the window: where its sound rose out of the noise floor, at most 100 ms before the frame that turned it on; missing where none did", "fuse.Activity"},
	{"vad_off_age_ns", "ns", "≥ 0", "step window", "how long before the step the speech ended that the VAD last turned off in the window: where its last speech frame's sound fell back to the noise floor, at most the 80 ms hangover after that frame; missing where none did", "fuse.Activity"},

	// Visual, per frame (fuse/vision).
	{"video_motion_energy", "grey levels", "[0, 255]", "one frame against the previous", "mean absolute change of the 8×8 block luma grid (Backend MotionGrids, in the tick's Compute) beyond 3 grey levels", "fuse.Activity"},
	{"video_motion_x", "fraction of width", "[0, 1]", "one frame", "motion-weighted centroid of the grid, from the left; missing when nothing moved", "fuse.Activity"},
	{"video_motion_y", "fraction of height", "[0, 1]", "one frame", "as video_motion_x, from the top", "fuse.Activity"},
	{"video_foreground", "fraction", "[0, 1]", "MOG2 history 500 frames", "fraction of pixels MOG2 marks foreground (shadows excluded), on the frame scaled to 160 px wide", "vision.Extractor"},
	{"faces", "count", "[0, 16]", "one detector pass over faces of 48 px and more (of a 640 px frame) spread over N frames (`face_every`, default 15), one over the smaller faces over 3N; faces verified and tracked on every frame", "faces from `face_min_px` (default 24 px) found by the cascades of `face_cascades` (default Debian's LBP frontal-face cascade, opencv-data; Haar frontal and profile, the profile one also on the mirrored frame, on request), their detections merged by overlap: faces of 48 px and more (of a 640 px frame) on the frame scaled to 320 px wide, smaller ones on the frame scaled so they are 24 px; each frame of a cycle scans one band of face sizes (each size once a cycle, a band's hits grouped with the band before's at the size beside it), beside the next frame on a worker thread of lower priority, its detections matched to the tracked faces one frame later; a new face verified on the next frame over its neighbourhood; tracked by template matching at 320 px wide; dropped when a cycle neither finds nor verifies it (faces found twice: two cycles in a row). Recall on real photographs and cost: BENCHMARKS.md", "vision.Extractor"},
	{"face_bearing_deg", "degrees, 0 along the camera's axis, + right, camera frame (robot frame: + `pose.yaw_deg`)", "[-FOV/2, FOV/2]", "one frame", "bearing of the speaker candidate's centre (the largest face found twice, kept while it is tracked, replaced only by a face found twice with twice its area) from the camera's `pose.hfov_deg` (pinhole)", "vision.Extractor"},
	{"face_bearing_std_deg", "degrees", "[0, FOV/2]", "one frame", "a quarter of the speaker candidate's angular width", "vision.Extractor"},
	{"mouth_motion", "grey levels", "[0, 255]", "one frame against the previous, at 320 px wide", "mean absolute luma change of the speaker candidate's mouth region (middle half of its width, 65–95 % of its height) between its tracked boxes in this frame and the last (so head movement is followed), minus the same over its upper face (15–45 %); ≥ 0", "vision.Extractor"},

	// Cross-modal.
	{"av_sync_z", "z-score", "[-10, 10]", "last 4 s of bundles, lag search ±200 ms", "best lagged correlation of mouth motion with the change of the audio level between bundles (dB, floored at -70 dBFS; both are rates of change, so the correlation peaks sharply at the true lag), as a z-score against the same correlation with the audio shifted by ≥ 1 s; missing until the window is full or either series is flat", "fuse.Synchrony"},
	{"av_sync_lag_ms", "ms", "[-200, 200]", "as av_sync_z", "the lag of the best correlation, positive when audio follows the mouth", "fuse.Synchrony"},
	{"av_sync_offset", "correlation difference", "[-2, 2]", "exponentially weighted past of the bundles, time constant 2 s; lags ±800 ms", "offset confidence (after SyncNet's): the best correlation of mouth motion with the audio level's change (as av_sync_z) within ±80 ms of lag 0, less the best at lags of 200–800 ms either way; negative when the mouth moves with the voice at another lag (a dub, a stream out of sync); missing until both series have varied over about 1 s", "fuse.SyncOffset"},
	{"av_sync_offset_lag_ms", "ms", "[-800, 800]", "as av_sync_offset", "the lag of the best of those correlations, positive when audio follows the mouth", "fuse.SyncOffset"},
	{"av_bearing_agreement", "likelihood", "[0, 1]", "the current bundle", "exp(−Δ²/2σ²) between the sound's bearing and the face's bearing, σ² the sum of their variances", "fuse.BearingAgreement"},
}

// FeatureMarkdown renders FeatureTable as the markdown of docs/FEATURES.md.
func FeatureMarkdown() string {
	var b strings.Builder
	b.WriteString("# Features\n\n")
	b.WriteString("Every feature fusiond computes, with the name it has in a decision's `evidence`, its unit, range and\n")
	b.WriteString("the window it is measured over. A feature that cannot be computed (silence for a spectral shape,\n")
	b.WriteString("a mono stream for a bearing, a frame of the wrong size) is left out of `evidence`, never reported\n")
	b.WriteString("as 0. Generated from `fuse.FeatureTable`: `go test ./fuse -run TestFeatureDocs -update`.\n\n")
	b.WriteString("| name | unit | range | window | what | computed by |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, f := range FeatureTable {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | `%s` |\n", f.Name, f.Unit, f.Range, f.Window, f.Doc, f.Where)
	}
	return b.String()
}
