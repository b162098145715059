package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/internal/redact"
)

// newLogger returns the daemon's logger: text on a terminal, JSON otherwise,
// unless the config says which.
func newLogger(cfg configs.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by configs
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	format := cfg.Format
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// redactAttr passes every string and error of a log record through
// redact.String: no password in a URL, nkey seed or JWT reaches a log.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != redact.String(s) {
			a.Value = slog.StringValue(redact.String(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(redact.String(err.Error()))
		}
	}
	return a
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
