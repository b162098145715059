package configs

import (
	"reflect"

	"github.com/seed-4c364652/fusiond/internal/redact"
)

// Redacted returns a copy of c fit to leave the daemon (ctl.config,
// recordings' metadata): passwords and tokens blanked to "[redacted]",
// and every other string passed through redact.String (user information
// in URLs, nkey seeds, JWTs), new fields included. c is not changed.
func Redacted(c *Config) *Config {
	out := *c
	redactValue(reflect.ValueOf(&out).Elem())
	n := &out.NATS
	n.Password = redact.Secret(n.Password)
	n.Token = redact.Secret(n.Token)
	for i := range n.Embedded.Users {
		n.Embedded.Users[i].Password = redact.Secret(n.Embedded.Users[i].Password)
	}
	return &out
}

// redactValue redacts the strings of v in place, cloning the slices it
// walks into so that the original keeps its own.
func redactValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(redact.String(v.String()))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		v.Set(c)
		for i := range c.Len() {
			redactValue(c.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			redactValue(e)
			c.SetMapIndex(k, e)
		}
		v.Set(c)
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(v.Elem())
			redactValue(p.Elem())
			v.Set(p)
		}
	}
}
