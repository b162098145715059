// Package hardware will discover and describe capture devices: V4L2 cameras
// with their modes, PortAudio input devices with their channels and rates,
// and GPUs. Devices are probed when asked (`fusiond devices`), never when a
// package loads.
//
// This version captures from synthetic sources only, so the package holds
// nothing yet; see docs/ARCHITECTURE.md for the roadmap.
package hardware
