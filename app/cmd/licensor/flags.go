package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

var (
	errHelpShown = errors.New("help shown")
	errUsage     = errors.New("usage error")
)

// newFlags makes a flag set for a command that also accepts --config.
func newFlags(c *cli, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.configPath, "config", c.configPath, "configuration file (default config.yaml, or LICENSOR_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: licensor %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and maps --help and bad flags to the sentinel
// errors run understands.
func parseFlags(fs *flag.FlagSet, c *cli, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// --help prints to stdout: it was asked for.
			fs.SetOutput(c.stdout)
			fs.Usage()
			return errHelpShown
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}

// stringList is a repeatable string flag (--scope a --scope b).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
