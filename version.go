package fusiond

import "runtime/debug"

// version is set at build time with
// -ldflags "-X github.com/seed-4c364652/fusiond.version=...".
var version = ""

const modulePath = "github.com/seed-4c364652/fusiond"

// BuildVersion returns the version and VCS revision of fusiond in this
// binary, as well as it knows them: the -ldflags version, else the
// module's version (as the main module, or as a dependency of the program
// that embeds it); the revision only when fusiond is the main module
// ("unknown" otherwise). A build from a checkout is "(devel)".
func BuildVersion() (ver, revision string) {
	ver, revision = version, "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return orDevel(ver), revision
	}
	if info.Main.Path != modulePath {
		for _, m := range info.Deps {
			if m.Path == modulePath && ver == "" {
				ver = m.Version
			}
		}
		return orDevel(ver), revision
	}
	if ver == "" {
		ver = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
			if len(revision) > 12 {
				revision = revision[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				revision += "-dirty"
			}
		}
	}
	return orDevel(ver), revision
}

func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}
