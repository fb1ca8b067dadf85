package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A service refuses to start without a SERVICE_SECRET of at least 32
// bytes, in one line that never quotes the secret.
func TestServicesRequireAServiceSecret(t *testing.T) {
	for _, svc := range []string{"usersvc", "productsvc", "ordersvc"} {
		for _, tc := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{map[string]string{"SERVICE_SECRET": ""}, nil, "-service-secret (SERVICE_SECRET) is required"},
			{map[string]string{"SERVICE_SECRET": "short-Secret-31-bytes-long-xxxx"}, nil, "-service-secret (SERVICE_SECRET) is too short: 31 bytes"},
			{map[string]string{"SERVICE_SECRET": ""}, []string{"-service-secret", "tiny-Secret"}, "is too short: 11 bytes"},
		} {
			args := append([]string{"-http-addr", "127.0.0.1:0", "-database-url", "sqlite:" + t.TempDir() + "/x.db"}, tc.args...)
			err := RunService(context.Background(), svc, args, mapEnv(tc.env), &lockedWriter{})
			if err == nil {
				t.Fatalf("%s started with %v %v", svc, tc.env, tc.args)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "Secret") || ExitCode(err) == 0 {
				t.Errorf("%s: error %q (exit %d), want one line with %q that does not quote the secret", svc, msg, ExitCode(err), tc.want)
			}
		}
	}
}

// The shop makes one secret per data directory, private to its owner, and
// reuses it on later starts.
func TestShopSecretIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := shopSecret(dir)
	if err != nil || len(first) < MinServiceSecretBytes {
		t.Fatalf("shopSecret = %d bytes, %v", len(first), err)
	}
	info, err := os.Stat(filepath.Join(dir, "service-secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", info, err)
	}
	if again, err := shopSecret(dir); err != nil || again != first {
		t.Fatalf("second start: a different secret (%v)", err)
	}
	if other, _ := shopSecret(t.TempDir()); other == first {
		t.Fatal("two data directories share a secret")
	}
}
