package kubernetes_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/kitshop/kitshop/internal/cli"
)

// setting is one flag of a binary that has an environment fallback, as its
// -h output shows it.
type setting struct {
	Flag    string // without the dash
	Type    string // as flag.PrintDefaults names it: duration, int, float, string
	Env     string
	Default string // as printed, quotes included; "" when the zero value
}

var (
	envInUsage     = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`)
	defaultInUsage = regexp.MustCompile(`\(default (.*)\)\s*$`)
)

// binarySettings runs the image's entrypoint as a container would
// (`shop SERVICE -h`, in this process) and returns the settings it prints,
// by environment variable. These are the real binaries' flags, whatever
// the contract or the manifests say.
var binarySettings = sync.OnceValues(func() (map[string]map[string]setting, error) {
	all := map[string]map[string]setting{}
	for _, service := range cli.ServiceNames() {
		var out bytes.Buffer
		err := cli.RunShop(context.Background(), []string{service, "-h"}, func(string) string { return "" }, &out)
		if !errors.Is(err, flag.ErrHelp) {
			return nil, fmt.Errorf("shop %s -h: want the help, got error %v", service, err)
		}
		settings, err := parseHelp(out.String())
		if err != nil {
			return nil, fmt.Errorf("shop %s -h: %w", service, err)
		}
		all[service] = settings
	}
	return all, nil
})

// parseHelp reads flag.PrintDefaults output: a line "  -name type" per
// flag, then its usage on lines indented with a tab.
func parseHelp(help string) (map[string]setting, error) {
	settings := map[string]setting{}
	var cur *setting
	var usage strings.Builder
	flush := func() error {
		if cur == nil {
			return nil
		}
		text := usage.String()
		usage.Reset()
		if m := envInUsage.FindStringSubmatch(text); m != nil {
			cur.Env = m[1]
			if m := defaultInUsage.FindStringSubmatch(text); m != nil {
				cur.Default = m[1]
			}
			if _, dup := settings[cur.Env]; dup {
				return fmt.Errorf("%s is the fallback of two flags", cur.Env)
			}
			settings[cur.Env] = *cur
		}
		cur = nil
		return nil
	}
	for line := range strings.SplitSeq(help, "\n") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			head, inline, _ := strings.Cut(rest, "\t") // one-letter flags keep their usage on the line
			name, typ, _ := strings.Cut(strings.TrimSpace(head), " ")
			cur = &setting{Flag: name, Type: typ}
			usage.WriteString(inline)
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    \t") {
			usage.WriteString(" " + strings.TrimSpace(line))
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(settings) == 0 {
		return nil, errors.New("no setting with an environment variable in the help")
	}
	return settings, nil
}
