//go:build !nosensors

package hardware

/*
#cgo pkg-config: alsa
#cgo LDFLAGS: -ldl
#include <alsa/asoundlib.h>
#include <dlfcn.h>

static void fusiond_alsa_silent(const char *file, int line, const char *function, int err, const char *fmt, ...) {}
static void fusiond_jack_silent(const char *msg) {}

static void fusiond_alsa_quiet(void) {
	snd_lib_error_set_handler(fusiond_alsa_silent);
	// PortAudio probes JACK, whose client library prints to stderr when no
	// JACK server runs. It is linked into PortAudio, so look it up rather
	// than link against it (its headers may not be installed).
	void (*set)(void (*)(const char *));
	set = (void (*)(void (*)(const char *)))dlsym(RTLD_DEFAULT, "jack_set_error_function");
	if (set) set(fusiond_jack_silent);
	set = (void (*)(void (*)(const char *)))dlsym(RTLD_DEFAULT, "jack_set_info_function");
	if (set) set(fusiond_jack_silent);
}
*/
import "C"

import (
	"os"
	"sync"
)

var quietOnce sync.Once

// quietALSA stops alsa-lib from printing every pcm it probes and cannot
// open (dozens of lines on a machine without a sound card) to stderr, and
// JACK's client library from complaining that no JACK server runs.
// FUSIOND_ALSA_DEBUG=1 keeps their messages.
func quietALSA() {
	quietOnce.Do(func() {
		if os.Getenv("FUSIOND_ALSA_DEBUG") == "" {
			C.fusiond_alsa_quiet()
		}
	})
}
