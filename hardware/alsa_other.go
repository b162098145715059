//go:build !nosensors && !linux

package hardware

func quietALSA() {}
