// Package cli holds the run functions of every kitshop binary, so that each
// main is three lines, cmd/shop can run any of them as a child process of
// itself, and tests can run a whole service in-process.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Flags is a flag set whose every flag falls back to an environment
// variable: a flag given on the command line wins, then the variable, then
// the default.
type Flags struct {
	fs      *flag.FlagSet
	output  io.Writer
	getenv  func(string) string
	envs    map[string]string // flag name -> env name
	zeroOK  map[string]bool   // duration flags that may be zero (Delay)
	invalid []error
}

// NewFlags returns an empty flag set for the named program.
func NewFlags(program string, getenv func(string) string, output io.Writer) *Flags {
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(output)
	return &Flags{fs: fs, output: output, getenv: getenv, envs: map[string]string{}, zeroOK: map[string]bool{}}
}

// String defines a string flag with an environment fallback.
func (f *Flags) String(name, env, def, usage string) *string {
	f.envs[name] = env
	return f.fs.String(name, def, usage+" (env "+env+")")
}

// Duration defines a duration flag with an environment fallback; it must be
// positive.
func (f *Flags) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	f.envs[name] = env
	return f.fs.Duration(name, def, usage+" (env "+env+")")
}

// Delay defines a duration flag with an environment fallback that may be
// zero (nothing to wait) but not negative.
func (f *Flags) Delay(name, env string, def time.Duration, usage string) *time.Duration {
	f.zeroOK[name] = true
	return f.Duration(name, env, def, usage)
}

// Int defines an integer flag with an environment fallback.
func (f *Flags) Int(name, env string, def int, usage string) *int {
	f.envs[name] = env
	return f.fs.Int(name, def, usage+" (env "+env+")")
}

// Bool defines a boolean flag with no environment fallback.
func (f *Flags) Bool(name, usage string) *bool { return f.fs.Bool(name, false, usage) }

// Float defines a float flag with an environment fallback.
func (f *Flags) Float(name, env string, def float64, usage string) *float64 {
	f.envs[name] = env
	return f.fs.Float64(name, def, usage+" (env "+env+")")
}

// Parse parses args, then fills every flag not given from its environment
// variable. Errors name the flag or variable and the bad value, in one line.
func (f *Flags) Parse(args []string) error {
	// The flag package prints the whole usage on any error; a bad setting
	// deserves one line, so usage is printed only when asked for.
	f.fs.SetOutput(io.Discard)
	err := f.fs.Parse(args)
	f.fs.SetOutput(f.output)
	if errors.Is(err, flag.ErrHelp) {
		f.fs.Usage()
		return err
	}
	if err != nil {
		return fmt.Errorf("bad arguments: %w", err)
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	given := map[string]bool{}
	err = nil
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	f.fs.VisitAll(func(fl *flag.Flag) {
		env := f.envs[fl.Name]
		if err != nil || given[fl.Name] || env == "" {
			return
		}
		if v := f.getenv(env); v != "" {
			if setErr := fl.Value.Set(v); setErr != nil {
				err = fmt.Errorf("%s=%q: %v", env, v, setErr)
			}
		}
	})
	if err != nil {
		return err
	}
	// Durations and counts of this project are all positive.
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		if g, ok := fl.Value.(flag.Getter); ok {
			switch v := g.Get().(type) {
			case time.Duration:
				if f.zeroOK[fl.Name] {
					if v < 0 {
						err = fmt.Errorf("-%s (%s) must not be negative, got %s", fl.Name, f.envs[fl.Name], v)
					}
					return
				}
				if v <= 0 {
					err = fmt.Errorf("-%s (%s) must be positive, got %s", fl.Name, f.envs[fl.Name], v)
				}
			case int:
				if v <= 0 {
					err = fmt.Errorf("-%s (%s) must be positive, got %s", fl.Name, f.envs[fl.Name], strconv.Itoa(v))
				}
			}
		}
	})
	return err
}

// ExitCode is the process exit status for an error a run function
// returned: 0 for a -help request, 2 for bad usage, 1 otherwise.
func ExitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}
