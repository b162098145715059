package fusiond

import (
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/hardware"
)

// Devices is what this machine offers fusiond: the V4L2 cameras, the
// PortAudio inputs and the CUDA devices (`fusiond devices --json`).
type Devices struct {
	Cameras     []hardware.CameraDevice `json:"cameras"`
	AudioInputs []hardware.AudioDevice  `json:"audio_inputs"`
	// GPUs are the CUDA devices fuse.backend can use.
	GPUs []fuse.GPU `json:"gpus"`
	// Errors says what could not be listed (e.g. PortAudio in a nosensors
	// build).
	Errors []string `json:"errors,omitempty"`
}

// ListDevices lists the devices; what cannot be listed is said in
// Errors, never fatal.
func ListDevices() Devices {
	var l Devices
	var err error
	if l.Cameras, err = hardware.Cameras(); err != nil {
		l.Errors = append(l.Errors, "cameras: "+err.Error())
	}
	if l.AudioInputs, err = hardware.AudioInputs(); err != nil {
		l.Errors = append(l.Errors, "audio inputs: "+err.Error())
	}
	if l.GPUs, err = fuse.CUDADevices(); err != nil {
		l.Errors = append(l.Errors, "gpus: "+err.Error())
	}
	if l.GPUs == nil {
		l.GPUs = []fuse.GPU{}
	}
	if l.Cameras == nil {
		l.Cameras = []hardware.CameraDevice{}
	}
	if l.AudioInputs == nil {
		l.AudioInputs = []hardware.AudioDevice{}
	}
	return l
}
