//go:build !linux

package hardware

func queryV4L2(d *CameraDevice) { d.Err = "V4L2 queries need Linux" }
