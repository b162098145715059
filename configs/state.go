package configs

import (
	"errors"
	"os"
	"path/filepath"
)

// StatePath is the robot's state directory: state_dir if set, else
// $XDG_STATE_HOME/fusiond/<robot>, else ~/.local/state/fusiond/<robot>.
func (c *Config) StatePath() (string, error) {
	if c.StateDir != "" {
		return c.StateDir, nil
	}
	base := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) { // the spec: a relative value is ignored
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return "", errors.New("state_dir: not set, and neither $XDG_STATE_HOME nor a home directory is known: set state_dir")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "fusiond", c.Robot), nil
}
