// Command licensor is the Licensor server and its administration CLI. It is
// the only package that knows every other one: it loads the configuration,
// opens the database and wires the services together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one CLI subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// cli carries what every command needs: where to print and the environment
// to read configuration from. Tests build one with their own values.
type cli struct {
	stdout, stderr io.Writer
	env            []string
	configPath     string // from a global --config before the command
}

func commands() map[string]command {
	return map[string]command{
		"serve":                       {"start the web server, the API and the background jobs", runServe},
		"migrate":                     {"apply database migrations (Licensor's and River's); safe to repeat", runMigrate},
		"admin create":                {"create an admin account", runAdminCreate},
		"apikey create":               {"create an API key and print it once", runAPIKeyCreate},
		"keys rotate":                 {"make a new signing key for tokens and license files; old keys keep verifying", runKeysRotate},
		"version":                     {"print the version", runVersion},
		"plugins list":                {"list the plugins in plugins.dir: name, kind, version, status (ok, disabled, checksum mismatch, crashed)", runPluginsList},
		"expiry-scan":                 {"run the expiry scan now (warnings, expiry log, expiry webhooks) and print the counts", runExpiryScan},
		"blacklist-scan":              {"run the auto-blacklist now and print what it added", runBlacklistScan},
		"license verify":              {"check a license file offline (signature, machine, dates) and print it", runLicenseVerify},
		"release sign":                {"sign a release file offline and print its manifest and signature", runReleaseSign},
		"release keygen":              {"make an Ed25519 release key pair for signing releases", runReleaseKeygen},
		"versions backfill-checksums": {"record the SHA-256 and size of stored version files that lack them (imported rows)", runVersionsBackfillChecksums},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	c := &cli{stdout: stdout, stderr: stderr, env: env}
	// A global --config may stand before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--config" || args[0] == "-config":
			if len(args) < 2 {
				fmt.Fprintln(stderr, "--config needs a file path")
				return 2
			}
			c.configPath, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "--config="):
			c.configPath, args = strings.TrimPrefix(args[0], "--config="), args[1:]
		case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
			usage(stdout)
			return 0
		default:
			fmt.Fprintf(stderr, "unknown flag %s\n", args[0])
			usage(stderr)
			return 2
		}
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" {
		usage(stdout)
		return 0
	}
	cmds := commands()
	name, rest := args[0], args[1:]
	cmd, ok := cmds[name]
	if !ok && len(rest) > 0 {
		name, rest = args[0]+" "+args[1], args[2:]
		cmd, ok = cmds[name]
	}
	if !ok {
		fmt.Fprintf(stderr, "unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, c, rest); err != nil {
		if err == errHelpShown {
			return 0
		}
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "licensor %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: licensor [--config FILE] <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'licensor <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Configuration: config.yaml (or --config / LICENSOR_CONFIG), overridden by LICENSOR_* variables.")
}
