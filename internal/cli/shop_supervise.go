package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/kitshop/kitshop/internal/procs"
)

// shop is the running supervisor.
type shop struct {
	children []*shopChild
	out      io.Writer
	sigs     chan os.Signal
	life     context.Context
	group    procs.Group
	exits    chan childExit
	quit     chan struct{}
	watchers sync.WaitGroup
	signals  int // SIGINT/SIGTERM received; the second one kills
}

// childExit is a child's run that ended; done tells which run it was.
type childExit struct {
	c    *shopChild
	done <-chan struct{}
}

func (s *shop) say(format string, args ...any) {
	fmt.Fprintf(s.out, "shop | "+format+"\n", args...)
}

// supervise reports children that die, restarts them on SIGHUP, and stops
// everything when ctx ends or on SIGINT/SIGTERM.
func (s *shop) supervise(ctx context.Context) error {
	s.exits, s.quit = make(chan childExit), make(chan struct{})
	for _, c := range s.children {
		s.watch(c)
	}
	for {
		select {
		case <-ctx.Done():
			return s.stop()
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				s.signals++
				return s.stop()
			}
			s.restartDead(ctx)
		case e := <-s.exits:
			if e.done != e.c.proc.Done() {
				continue // that run was already restarted
			}
			s.say("%s (pid %d) exited: %s; the other services keep running; kill -HUP %d restarts it",
				e.c.name, e.c.proc.PID(), describeExit(e.c.proc.Exited()), os.Getpid())
		}
	}
}

// watch reports the end of c's current run on s.exits.
func (s *shop) watch(c *shopChild) {
	done := c.proc.Done()
	s.watchers.Go(func() {
		select {
		case <-done:
			select {
			case s.exits <- childExit{c, done}:
			case <-s.quit:
			}
		case <-s.quit:
		}
	})
}

// restartDead starts again, in dependency order, every child not running.
func (s *shop) restartDead(ctx context.Context) {
	dead := 0
	for _, c := range s.children {
		if !errors.Is(c.proc.Exited(), procs.ErrRunning) {
			dead++
			if err := c.proc.Restart(s.life); err != nil {
				s.say("%s could not be restarted: %v", c.name, err)
				continue
			}
			s.watch(c)
			if err := c.proc.WaitReady(ctx, c.url); err != nil {
				if ctx.Err() == nil {
					s.say("%s did not come back: %v", c.name, err)
				}
				continue
			}
			s.say("%s is back at %s (pid %d)", c.name, c.url, c.proc.PID())
		}
	}
	if dead == 0 {
		s.say("SIGHUP: every service is running; nothing to restart")
	}
}

// stop terminates the children, last started first. Another SIGINT or
// SIGTERM meanwhile kills them all at once. It returns nil when every child
// exited cleanly, else one line naming those that did not.
func (s *shop) stop() error {
	var started []string
	for _, p := range slices.Backward(s.group.Processes()) {
		started = append(started, p.Name())
	}
	s.say("stopping %s (SIGTERM, then SIGKILL after %s; Ctrl-C again to kill now)", strings.Join(started, ", "), procs.DefaultGrace)
	stopped := make(chan error, 1)
	go func() { stopped <- s.group.StopAll(procs.DefaultGrace) }()
	var err error
wait:
	for {
		select {
		case err = <-stopped:
			break wait
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				if s.signals++; s.signals >= 2 {
					s.say("killing every service now")
					s.group.KillAll()
				}
			}
		}
	}
	if s.quit != nil {
		close(s.quit)
		s.watchers.Wait()
	}
	if err != nil {
		return fmt.Errorf("not every service stopped cleanly: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	s.say("all services stopped")
	return nil
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
