package chaos

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{name: "defaults", args: []string{"-experiment", "kill-user"}, check: func(t *testing.T, o Options) {
			if o.Duration != DefaultDuration || o.Rate != DefaultRate || o.ReportDir != DefaultReportDir || o.Seed != DefaultSeed ||
				o.Target != TargetProcess || o.ComposeFile != DefaultComposeFile || o.Image != DefaultImage || o.Postgres != "" {
				t.Errorf("defaults = %+v", o)
			}
			if len(o.Experiments) != 1 || o.Experiments[0].Name != "kill-user" {
				t.Errorf("experiments = %v", o.Experiments)
			}
		}},
		{name: "all", args: []string{"-experiment", "all", "-duration", "8s", "-rate", "40", "-report", "x"}, check: func(t *testing.T, o Options) {
			if len(o.Experiments) != len(experiments()) || o.Duration != 8*time.Second || o.Rate != 40 || o.ReportDir != "x" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "list needs no experiment", args: []string{"-list"}, check: func(t *testing.T, o Options) {
			if !o.List {
				t.Error("List not set")
			}
		}},
		{name: "no experiment", args: nil, wantErr: "-experiment is required"},
		{name: "compose target", args: []string{"-experiment", "hang-user", "-target", "compose", "-compose-file", "c.yml", "-image", "shop:x"},
			check: func(t *testing.T, o Options) {
				if o.Target != TargetCompose || o.ComposeFile != "c.yml" || o.Image != "shop:x" {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "postgres", args: []string{"-experiment", "kill-user", "-postgres", "postgres://u@127.0.0.1:5432/"},
			check: func(t *testing.T, o Options) {
				if o.Postgres != "postgres://u@127.0.0.1:5432/" || o.Target != TargetProcess {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "unknown target", args: []string{"-experiment", "kill-user", "-target", "k8s"}, wantErr: `-target "k8s": want process or compose`},
		{name: "postgres with compose", args: []string{"-experiment", "kill-user", "-target", "compose", "-postgres", "postgres://x/"},
			wantErr: "-postgres applies to -target process only"},
		{name: "postgres not a URL", args: []string{"-experiment", "kill-user", "-postgres", "localhost:5432"}, wantErr: "-postgres: want a postgres:// URL"},
		{name: "unknown experiment", args: []string{"-experiment", "kill-everything"}, wantErr: `unknown experiment "kill-everything"`},
		{name: "duration too short", args: []string{"-experiment", "kill-user", "-duration", "1s"}, wantErr: "-duration 1s out of range"},
		{name: "duration negative", args: []string{"-experiment", "kill-user", "-duration", "-5s"}, wantErr: "out of range"},
		{name: "duration unparsable", args: []string{"-experiment", "kill-user", "-duration", "soon"}, wantErr: "invalid value"},
		{name: "rate zero", args: []string{"-experiment", "kill-user", "-rate", "0"}, wantErr: "-rate 0 out of range"},
		{name: "rate too high", args: []string{"-experiment", "kill-user", "-rate", "5000"}, wantErr: "out of range"},
		{name: "empty report dir", args: []string{"-experiment", "kill-user", "-report", ""}, wantErr: "-report is empty"},
		{name: "stray argument", args: []string{"-experiment", "kill-user", "extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseOptions(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			tt.check(t, o)
		})
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := settingsFromEnv(env(nil), false)
	if err != nil || s != defaultSettings() {
		t.Fatalf("no overrides: %+v, %v", s, err)
	}
	s, err = settingsFromEnv(env(nil), true)
	if want := defaultSettings(); err != nil || s.CallTimeout != postgresCallTimeout || s.RequestTimeout != want.RequestTimeout {
		t.Fatalf("no overrides, on PostgreSQL: %+v, %v", s, err)
	}
	s, err = settingsFromEnv(env(map[string]string{"RETRY_MAX_ATTEMPTS": "1", "CALL_TIMEOUT": "60s", "REQUEST_TIMEOUT": "3s", "BREAKER_OPEN_TIMEOUT": "4s"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.RetryMaxAttempts != 1 || s.CallTimeout != time.Minute || s.RequestTimeout != 3*time.Second || s.BreakerOpenTimeout != 4*time.Second {
		t.Errorf("overrides not taken: %+v", s)
	}
	if got := strings.Join(s.env(), " "); !strings.Contains(got, "RETRY_MAX_ATTEMPTS=1") || !strings.Contains(got, "CALL_TIMEOUT=1m0s") {
		t.Errorf("env passed on = %s", got)
	}
	if s.maxRequestTime() != 3100*time.Millisecond || s.recoveryBound() != 6*time.Second {
		t.Errorf("thresholds do not follow the settings: %v, %v", s.maxRequestTime(), s.recoveryBound())
	}
	for _, bad := range []map[string]string{
		{"CALL_TIMEOUT": "fast"}, {"REQUEST_TIMEOUT": "0s"}, {"RETRY_MAX_ATTEMPTS": "none"}, {"RETRY_MAX_ATTEMPTS": "0"},
	} {
		if _, err := settingsFromEnv(env(bad), false); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestRunExitStatusWithoutRunning(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       int
		wantOut    string
		wantStderr string
	}{
		{name: "list", args: []string{"-list"}, want: ExitPass, wantOut: "restart-order"},
		{name: "help", args: []string{"-h"}, want: ExitPass, wantStderr: "usage: chaos"},
		{name: "unknown experiment", args: []string{"-experiment", "nope"}, want: ExitNoRun, wantStderr: `chaos: usage: unknown experiment "nope"`},
		{name: "bad rate", args: []string{"-experiment", "kill-user", "-rate", "-1"}, want: ExitNoRun, wantStderr: "-rate -1 out of range"},
		{name: "bad setting", args: []string{"-experiment", "kill-user"}, env: map[string]string{"CALL_TIMEOUT": "x"},
			want: ExitNoRun, wantStderr: `CALL_TIMEOUT="x"`},
		{name: "unknown service flag", args: []string{"usersvc", "-no-such-flag"}, want: 1, wantStderr: "usersvc: bad arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string { return tt.env[k] }
			got := Run(context.Background(), tt.args, getenv, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit = %d, want %d; stderr %q", got, tt.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tt.wantOut, tt.wantStderr)
			}
		})
	}
}

func TestStartFailsWhenThePortIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a service process")
	}
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	free, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	before := children(t) // a throwaway PostgreSQL server of other tests, say
	_, err = startStack(context.Background(), stackConfig{
		Target: TargetProcess, Settings: defaultSettings(),
		Ports: []int{hold.Addr().(*net.TCPAddr).Port, free[0], free[1]},
	})
	want := "usersvc cannot listen on " + hold.Addr().String()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, kid := range children(t) {
		if !slices.Contains(before, kid) {
			t.Errorf("child process %s left running", kid)
		}
	}
}

// children lists the PIDs of this process's children, from /proc.
func children(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		t.Skip("no /proc to list child processes")
	}
	me := strconv.Itoa(os.Getpid())
	var kids []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if fields := strings.Fields(rest); len(fields) > 1 && fields[1] == me {
			kids = append(kids, strings.Fields(string(b))[0])
		}
	}
	return kids
}

// TestUsageExplainsTheTable checks that -h explains every column of the
// phase table, and that the README's chaos section shows the same text.
func TestUsageExplainsTheTable(t *testing.T) {
	var stderr strings.Builder
	if _, err := parseOptions([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(stderr.String(), tableHelp) {
		t.Errorf("usage lacks the table's explanation:\n%s", stderr.String())
	}
	var table strings.Builder
	(&Report{Phases: []PhaseStats{{Phase: Phase{Name: "steady"}}}}).printTable(&table)
	header := strings.Fields(strings.SplitN(strings.TrimSpace(table.String()), "\n", 3)[1])
	for _, col := range header {
		if !strings.Contains(tableHelp, col) {
			t.Errorf("column %q is not explained", col)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), tableHelp) {
		t.Error("README's chaos section does not show the table's explanation as -h prints it")
	}
}
