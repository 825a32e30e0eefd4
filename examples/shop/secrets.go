package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sesamego/sesame/seal"
)

// secretsEnv names the environment variable holding the app's secrets: a
// comma-separated list of base64 secrets, newest first (see
// seal.ParseSecrets). Rotate by prepending a new one.
const secretsEnv = "SESAME_SECRETS"

// loadKeyring returns the keyring that signs the visits cookie, from
// SESAME_SECRETS when it is set, else from the file "secrets" in dataDir,
// which is created with a new random secret (mode 0600) the first time. The
// second result says where the keys came from.
func loadKeyring(env, dataDir string) (*seal.Keyring, string, error) {
	if env != "" {
		kr, err := seal.ParseSecrets(env)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", secretsEnv, err)
		}
		return kr, secretsEnv, nil
	}
	if err := makeDataDir(dataDir); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dataDir, "secrets")
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
				return nil, "", fmt.Errorf("%s is readable by other users (mode %v): chmod 600 it", path, fi.Mode().Perm())
			}
			kr, err := seal.ParseSecrets(strings.TrimSpace(string(b)))
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", path, err)
			}
			return kr, path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		secret, err := seal.GenerateSecret()
		if err != nil {
			return nil, "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // another process just created it: read that one
		}
		if err != nil {
			return nil, "", err
		}
		_, werr := f.WriteString(secret + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, "", fmt.Errorf("writing %s: %w", path, werr)
		}
	}
	return nil, "", fmt.Errorf("reading %s: it keeps disappearing", path)
}
