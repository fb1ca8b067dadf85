package shopctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// config is where shopctl keeps the signed-in user's token: token.json in
// shopctl's directory of the user's config directory ($XDG_CONFIG_HOME,
// else ~/.config on Linux), the directory 0700 and the file 0600, as the
// token is as good as the password until it expires.
type config struct {
	path string
}

// savedToken is the kept sign-in.
type savedToken struct {
	URL         string    `json:"url"`
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
}

func openConfig(getenv func(string) string) (*config, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			d, err := os.UserConfigDir()
			if err != nil {
				return nil, fmt.Errorf("config directory: %w", err)
			}
			return &config{path: filepath.Join(d, "shopctl", "token.json")}, nil
		}
		dir = filepath.Join(home, ".config")
	}
	return &config{path: filepath.Join(dir, "shopctl", "token.json")}, nil
}

func (c *config) save(t savedToken) error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("keep the token: %w", err)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("keep the token: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("keep the token: %w", err)
	}
	return nil
}

// load returns the kept token for url; ok is false when there is none
// for it, or it has expired.
func (c *config) load(url string, now time.Time) (savedToken, bool, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return savedToken{}, false, nil
	}
	if err != nil {
		return savedToken{}, false, fmt.Errorf("read the token: %w", err)
	}
	var t savedToken
	if err := json.Unmarshal(b, &t); err != nil {
		return savedToken{}, false, fmt.Errorf("read the token %s: %w", c.path, err)
	}
	if t.URL != url || !now.Before(t.ExpiresAt) {
		return t, false, nil
	}
	return t, true, nil
}

func (c *config) remove() error {
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
