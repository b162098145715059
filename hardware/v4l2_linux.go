package hardware

import (
	"encoding/binary"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// V4L2 ioctls (linux/videodev2.h).
const (
	vidiocQueryCap          = 0x80685600 // _IOR('V', 0, struct v4l2_capability)
	vidiocEnumFmt           = 0xc0405602 // _IOWR('V', 2, struct v4l2_fmtdesc)
	vidiocEnumFrameSizes    = 0xc02c564a // _IOWR('V', 74, struct v4l2_frmsizeenum)
	vidiocEnumFrameInterval = 0xc034564b // _IOWR('V', 75, struct v4l2_frmivalenum)
	v4l2BufTypeVideoCapture = 1
	v4l2FrmSizeDiscrete     = 1
	v4l2FrmIvalDiscrete     = 1
	maxEnum                 = 64 // bounds every enumeration
)

func ioctl(fd uintptr, req uintptr, buf []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return errno
	}
	return nil
}

// queryV4L2 fills d from the device's ioctls; a failure is noted in d.Err.
func queryV4L2(d *CameraDevice) {
	f, err := os.OpenFile(d.Path, os.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		d.Err = err.Error()
		return
	}
	defer f.Close()
	fd := f.Fd()
	capb := make([]byte, 104)
	if err := ioctl(fd, vidiocQueryCap, capb); err != nil {
		d.Err = "VIDIOC_QUERYCAP: " + err.Error()
		return
	}
	parseCapability(capb, d)
	if !d.Capture {
		return
	}
	le := binary.LittleEndian
	for i := uint32(0); i < maxEnum; i++ {
		fb := make([]byte, 64)
		le.PutUint32(fb[0:], i)
		le.PutUint32(fb[4:], v4l2BufTypeVideoCapture)
		if ioctl(fd, vidiocEnumFmt, fb) != nil {
			break
		}
		pix := le.Uint32(fb[44:])
		cf := CameraFormat{FourCC: fourCC(pix), Description: cString(fb[12:44])}
		for j := uint32(0); j < maxEnum; j++ {
			sb := make([]byte, 44)
			le.PutUint32(sb[0:], j)
			le.PutUint32(sb[4:], pix)
			if ioctl(fd, vidiocEnumFrameSizes, sb) != nil || le.Uint32(sb[8:]) != v4l2FrmSizeDiscrete {
				break
			}
			sz := CameraSize{Width: int(le.Uint32(sb[12:])), Height: int(le.Uint32(sb[16:]))}
			for k := uint32(0); k < maxEnum; k++ {
				ib := make([]byte, 52)
				le.PutUint32(ib[0:], k)
				le.PutUint32(ib[4:], pix)
				le.PutUint32(ib[8:], uint32(sz.Width))
				le.PutUint32(ib[12:], uint32(sz.Height))
				if ioctl(fd, vidiocEnumFrameInterval, ib) != nil || le.Uint32(ib[16:]) != v4l2FrmIvalDiscrete {
					break
				}
				if num, den := le.Uint32(ib[20:]), le.Uint32(ib[24:]); num > 0 {
					sz.FPS = append(sz.FPS, float64(den)/float64(num))
				}
			}
			cf.Sizes = append(cf.Sizes, sz)
		}
		d.Formats = append(d.Formats, cf)
	}
}
