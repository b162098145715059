package sinks

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// HeaderSignature is the decision header with the robot's signature
// (client.SignedMessage, docs/SECURITY.md).
const HeaderSignature = client.HeaderSignature

// Signer signs decisions with the robot's ed25519 key (an nkey). A nil
// Signer signs nothing.
type Signer struct {
	kp     nkeys.KeyPair
	public string
}

// ErrKeyFile is wrapped when the signing key file cannot be used.
var ErrKeyFile = errors.New("signing key file")

// LoadOrCreateSigningKey reads the robot's nkey seed from path, or creates
// a new key there (mode 0600, parent directories 0700) when there is no
// file. A key file others can read is refused, as ssh refuses one.
func LoadOrCreateSigningKey(path string) (*Signer, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: mode %o lets others read the key (chmod 600 it)", ErrKeyFile, path, st.Mode().Perm())
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		// nkeys' error never holds the seed; the path tells which file.
		return nil, fmt.Errorf("%w %s: not an nkey seed: %w", ErrKeyFile, path, err)
	}
	return newSigner(kp)
}

func createSigningKey(path string) (*Signer, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, err
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSigningKey(path) // made meanwhile by another start
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	_, err = f.Write(append(seed, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	return newSigner(kp)
}

// NewSigner signs with kp (tests, and keys held elsewhere).
func NewSigner(kp nkeys.KeyPair) (*Signer, error) { return newSigner(kp) }

func newSigner(kp nkeys.KeyPair) (*Signer, error) {
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return &Signer{kp: kp, public: pub}, nil
}

// PublicKey is the key subscribers trust ("U...").
func (s *Signer) PublicKey() string {
	if s == nil {
		return ""
	}
	return s.public
}

// Sign sets msg's signature header over its subject and data.
func (s *Signer) Sign(msg *nats.Msg) {
	if s == nil {
		return
	}
	sig, err := s.kp.Sign(client.SignedMessage(msg.Subject, msg.Data))
	if err != nil {
		return // only a wiped key fails; the message goes out unsigned
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header[HeaderSignature] = []string{base64.RawURLEncoding.EncodeToString(sig)}
}

// DefaultKeyFile is where robot's signing key lives when
// nats.signing.key_file is empty: $XDG_STATE_HOME/fusiond/<robot>/signing.nk,
// or ~/.local/state/fusiond/<robot>/signing.nk.
func DefaultKeyFile(robot string) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: no home directory for the default key file (set nats.signing.key_file): %w", ErrKeyFile, err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "fusiond", robot, "signing.nk"), nil
}
