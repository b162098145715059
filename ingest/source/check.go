package source

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Load is configs.Load with every source entry's kind keys checked
// (Check): what commands that open sources load their config with.
func Load(path string, sets []string) (*configs.Config, error) {
	cfg, err := configs.Load(path, sets)
	if err != nil {
		return nil, err
	}
	return cfg, Check(cfg)
}

// Parse is Load for a config already in memory.
func Parse(name string, data []byte, sets []string) (*configs.Config, error) {
	cfg, err := configs.Parse(name, data, sets)
	if err != nil {
		return nil, err
	}
	return cfg, Check(cfg)
}

// Check decodes and checks every camera's and microphone's kind keys
// against its kind's spec, and completes them with the kind's defaults
// (cfg then shows every key in effect, as ctl.config and recordings
// do). Its errors are *configs.Error, located where the key was given
// (file and line, or the --set), joined; nil when all is well.
func Check(cfg *configs.Config) error {
	var errs []error
	for i := range cfg.Cameras {
		c := &cfg.Cameras[i]
		errs = append(errs, checkEntry(cfg, "cameras."+strconv.Itoa(i), Camera, c.Source, &c.Params)...)
	}
	for i := range cfg.Microphones {
		m := &cfg.Microphones[i]
		errs = append(errs, checkEntry(cfg, "microphones."+strconv.Itoa(i), Microphone, m.Source, &m.Params)...)
	}
	if len(errs) == 0 {
		errs = sameDevice(cfg)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

func checkEntry(cfg *configs.Config, at string, m Modality, kind string, p *configs.Params) []error {
	s, err := Lookup(m, kind)
	if err != nil {
		return []error{&configs.Error{Where: cfg.Where(at + ".source"), Key: at + ".source", Msg: err.Error()}}
	}
	_, done, problems := Decode(s, *p, commonKeys(m))
	var errs []error
	for _, pr := range problems {
		path := at + "." + pr.Key
		where := cfg.Where(path)
		if _, given := p.Lookup(pr.Key); !given {
			where = cfg.Where(at + ".source") // a missing key: the source that needs it
		}
		errs = append(errs, &configs.Error{Where: where, Key: path, Msg: pr.Msg + " (source " + kind + ")"})
	}
	if len(errs) == 0 {
		*p = done
	}
	return errs
}

// deviceKeys are the kind keys that name what an entry reads: two entries
// of a modality with the same kind and the same value read one device.
var deviceKeys = []string{"device", "file", "url", "pipeline"}

// sameDevice reports two cameras, or two microphones, of the same kind
// that name the same device, file, URL or pipeline, at the second.
func sameDevice(cfg *configs.Config) []error {
	var errs []error
	check := func(modality string, n int, entry func(int) (string, configs.Params)) {
		seen := map[string]string{}
		for i := range n {
			kind, p := entry(i)
			for _, k := range deviceKeys {
				v, ok := p.Lookup(k)
				if !ok || v.Value == "" {
					continue
				}
				at := modality + "." + strconv.Itoa(i) + "." + k
				id := kind + "\x00" + k + "\x00" + v.Value
				if prev, dup := seen[id]; dup {
					errs = append(errs, &configs.Error{Where: cfg.Where(at), Key: at, Msg: fmt.Sprintf("%q is already read by %s", v.Value, prev)})
				}
				seen[id] = modality + "." + strconv.Itoa(i)
				break
			}
		}
	}
	check("cameras", len(cfg.Cameras), func(i int) (string, configs.Params) { return cfg.Cameras[i].Source, cfg.Cameras[i].Params })
	check("microphones", len(cfg.Microphones), func(i int) (string, configs.Params) {
		return cfg.Microphones[i].Source, cfg.Microphones[i].Params
	})
	return errs
}

// commonKeys lists the keys every entry of the modality has (configs'
// Camera or Microphone fields).
func commonKeys(m Modality) []string {
	t := reflect.TypeFor[configs.Camera]()
	if m == Microphone {
		t = reflect.TypeFor[configs.Microphone]()
	}
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// Warnings returns a warning for each device or file cfg's sources name
// that is not there now (the kinds' Present), as "cameras.0 (front): ...".
// cfg has been checked.
func Warnings(cfg *configs.Config) []string {
	var warns []string
	warn := func(at string, m Modality, name, kind string, p configs.Params) {
		s, err := Lookup(m, kind)
		if err != nil || s.Present == nil {
			return
		}
		v, _, problems := Decode(s, p, nil)
		if len(problems) > 0 {
			return
		}
		if err := s.Present(v); err != nil {
			warns = append(warns, fmt.Sprintf("%s (%s): %v", at, name, err))
		}
	}
	for i, c := range cfg.Cameras {
		warn("cameras."+strconv.Itoa(i), Camera, c.Name, c.Source, c.Params)
	}
	for i, m := range cfg.Microphones {
		warn("microphones."+strconv.Itoa(i), Microphone, m.Name, m.Source, m.Params)
	}
	return warns
}

// OpenCamera opens the source of one configured camera.
func OpenCamera(c configs.Camera, env Env) (Source, error) {
	return open(Camera, c.Source, c.Params, Entry{Name: c.Name, Width: c.Width, Height: c.Height, FPS: c.FPS}, env)
}

// OpenMicrophone opens the source of one configured microphone.
func OpenMicrophone(m configs.Microphone, env Env) (Source, error) {
	return open(Microphone, m.Source, m.Params, Entry{Name: m.Name, RateHz: m.RateHz, Channels: m.Channels, Chunk: m.Chunk}, env)
}

func open(m Modality, kind string, p configs.Params, e Entry, env Env) (Source, error) {
	s, err := Lookup(m, kind)
	if err != nil {
		return nil, err
	}
	v, _, problems := Decode(s, p, commonKeys(m))
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, pr := range problems {
			errs[i] = fmt.Errorf("%s %s: %w (source %s)", m, e.Name, pr, kind)
		}
		return nil, errors.Join(errs...)
	}
	return s.Open(e, v, env)
}

// DropReasons returns the drop reasons a kind's stream can count beside
// the pipeline's own (none for an unknown kind).
func DropReasons(m Modality, kind string) []av.DropReason {
	if s, err := Lookup(m, kind); err == nil {
		return s.Drops
	}
	return nil
}
