//go:build nosensors

package hardware

// PortAudioBuilt reports whether this binary has PortAudio.
const PortAudioBuilt = false

// AudioInputs returns ErrNotBuilt: this binary has no PortAudio.
func AudioInputs() ([]AudioDevice, error) { return nil, ErrNotBuilt }
