//go:build !nosensors

package hardware

/*
#cgo pkg-config: alsa
#include <alsa/asoundlib.h>

static void fusiond_alsa_silent(const char *file, int line, const char *function, int err, const char *fmt, ...) {}
static void fusiond_alsa_quiet(void) { snd_lib_error_set_handler(fusiond_alsa_silent); }
*/
import "C"

import (
	"os"
	"sync"
)

var quietOnce sync.Once

// quietALSA stops alsa-lib from printing every pcm it probes and cannot
// open (dozens of lines on a machine without a sound card) to stderr.
// FUSIOND_ALSA_DEBUG=1 keeps its messages.
func quietALSA() {
	quietOnce.Do(func() {
		if os.Getenv("FUSIOND_ALSA_DEBUG") == "" {
			C.fusiond_alsa_quiet()
		}
	})
}
