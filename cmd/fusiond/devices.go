package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

func cmdDevices(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("devices", "[--json]",
		"List the cameras (V4L2 devices, with their formats, sizes and rates), the audio inputs\n"+
			"(PortAudio devices, with host API, channels and default rate) and the CUDA GPUs (with\n"+
			"compute capability and memory) of this machine, as a config's cameras[].device,\n"+
			"microphones[].device and fuse.backend name them.",
		[]string{"fusiond devices", "fusiond devices --json | jq '.audio_inputs[].name'",
			"ALSA_CONFIG_PATH=$PWD/testdata/alsa/asound.conf fusiond devices   # the fake file-backed sound card"}, stdout)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fusiond devices: unexpected arguments %v (see 'fusiond devices --help')\n", fs.Args())
		return exitUsage
	}
	l := daemon.ListDevices()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(stderr, "fusiond devices:", err)
			return exitRuntime
		}
		return exitOK
	}
	printDevices(stdout, l)
	for _, e := range l.Errors {
		fmt.Fprintln(stderr, "fusiond devices:", e)
	}
	return exitOK
}

func printDevices(w io.Writer, l daemon.Devices) {
	fmt.Fprintln(w, "Cameras (cameras[].source: device, cameras[].device):")
	if len(l.Cameras) == 0 {
		fmt.Fprintln(w, "  none (no /dev/video*)")
	}
	for _, c := range l.Cameras {
		fmt.Fprintf(w, "  %s  index %d  %q", c.Path, c.Index, c.Name)
		if c.Driver != "" {
			fmt.Fprintf(w, "  driver %s", c.Driver)
		}
		if !c.Capture && c.Err == "" {
			fmt.Fprint(w, "  (no video capture)")
		}
		if c.Err != "" {
			fmt.Fprintf(w, "  (%s)", c.Err)
		}
		fmt.Fprintln(w)
		for _, f := range c.Formats {
			var sizes []string
			for _, s := range f.Sizes {
				sz := fmt.Sprintf("%dx%d", s.Width, s.Height)
				if len(s.FPS) > 0 {
					var fps []string
					for _, r := range s.FPS {
						fps = append(fps, fmt.Sprintf("%g", r))
					}
					sz += "@" + strings.Join(fps, "/")
				}
				sizes = append(sizes, sz)
			}
			fmt.Fprintf(w, "    %-4s %s: %s\n", f.FourCC, f.Description, strings.Join(sizes, " "))
		}
	}
	fmt.Fprintln(w, "Audio inputs (microphones[].source: portaudio, microphones[].device):")
	if len(l.AudioInputs) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, d := range l.AudioInputs {
		def := ""
		if d.Default {
			def = "  [default]"
		}
		fmt.Fprintf(w, "  %3d  %-24q %s, %d ch, %g Hz, latency %v..%v%s\n", d.Index, d.Name, d.HostAPI,
			d.MaxInputChannels, d.DefaultRateHz, d.DefaultLowLatency, d.DefaultHighLatency, def)
	}
	fmt.Fprintln(w, "GPUs (fuse.backend: cuda, or auto):")
	if len(l.GPUs) == 0 {
		fmt.Fprintln(w, "  none usable (fusion runs on the CPU)")
	}
	for _, g := range l.GPUs {
		fmt.Fprintf(w, "  %d  %s  compute capability %d.%d, %d MiB, CUDA driver API %d.%d\n", g.Index, g.Name,
			g.ComputeMajor, g.ComputeMinor, g.MemoryBytes>>20, g.Driver/1000, g.Driver%1000/10)
	}
}

// deviceWarnings returns a warning for each device or media file cfg
// names that is not there now. Devices may come later (the daemon retries
// them), so these are warnings, not errors.
func deviceWarnings(cfg *configs.Config) []string {
	return sources.Warnings(cfg) // each kind's spec knows what it reads
}
