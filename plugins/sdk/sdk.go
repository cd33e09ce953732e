// Package sdk is what a Licensor plugin imports. A plugin is an executable
// that Licensor starts and talks to over gRPC (hashicorp/go-plugin); the SDK
// hides that: implement the interface of your plugin's kind (Captcha,
// OrderSync or ImportFormat), describe it with a Manifest, and call the
// kind's Serve function from main:
//
//	func main() {
//		sdk.ServeCaptcha(manifest, &myProvider{})
//	}
//
// Run with the single argument "manifest", the executable prints its
// manifest.json (with its own SHA-256) instead of serving: that is how a
// plugin is installed. The host side of the protocol (the clients) lives here
// too, so both ends always agree; README.md walks through a whole plugin.
package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Kind is what a plugin does; each kind is one gRPC service.
type Kind string

// The plugin kinds and the gRPC services they implement.
const (
	KindCaptcha      Kind = "captcha"      // licensor.captcha.v1.Captcha
	KindOrderSync    Kind = "ordersync"    // licensor.ordersync.v1.OrderSync
	KindImportFormat Kind = "importformat" // licensor.importformat.v1.ImportFormat
)

// Kinds are all plugin kinds.
var Kinds = []Kind{KindCaptcha, KindOrderSync, KindImportFormat}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// ProtocolVersion is the go-plugin protocol version; it moves with the v1
// services (a v2 service would be served as protocol version 2).
const ProtocolVersion = 1

// Handshake is what host and plugin check before talking: the host sets the
// cookie in the plugin's environment, and the plugin refuses to serve
// without it (so running the executable by hand explains itself instead).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "LICENSOR_PLUGIN",
	MagicCookieValue: "7c1d5d0e-licensor-plugin",
}

// ClientPlugins is the go-plugin set the host dispenses from: one entry per
// kind, named after the kind, with no implementation (client side only).
func ClientPlugins() plugin.PluginSet {
	return plugin.PluginSet{
		string(KindCaptcha):      &captchaPlugin{},
		string(KindOrderSync):    &orderSyncPlugin{},
		string(KindImportFormat): &importFormatPlugin{},
	}
}

// ServerPlugins is the go-plugin set a plugin process serves: impl, an
// implementation of kind's interface (Captcha, OrderSync or ImportFormat),
// as kind's gRPC service. The Serve functions serve it from a process;
// package sdktest connects to it in-process, for a plugin's own tests.
func ServerPlugins(kind Kind, impl any) (plugin.PluginSet, error) {
	var p plugin.Plugin
	switch kind {
	case KindCaptcha:
		if c, ok := impl.(Captcha); ok {
			p = &captchaPlugin{impl: c}
		}
	case KindOrderSync:
		if o, ok := impl.(OrderSync); ok {
			p = &orderSyncPlugin{impl: o}
		}
	case KindImportFormat:
		if f, ok := impl.(ImportFormat); ok {
			p = &importFormatPlugin{impl: f}
		}
	default:
		return nil, fmt.Errorf("unknown plugin kind %q", kind)
	}
	if p == nil {
		return nil, fmt.Errorf("%T does not implement the %s plugin interface", impl, kind)
	}
	return plugin.PluginSet{string(kind): p}, nil
}

// Config is a plugin's settings as the admin saved them in the console:
// manifest config field name → value as text ("true"/"false" for bool
// fields). Secrets arrive decrypted.
type Config map[string]string

// String returns the value of name, or def when it is empty.
func (c Config) String(name, def string) string {
	if v := strings.TrimSpace(c[name]); v != "" {
		return v
	}
	return def
}

// Bool returns the value of name as a boolean, or def when it is empty.
func (c Config) Bool(name string, def bool) bool {
	if b, err := strconv.ParseBool(strings.TrimSpace(c[name])); err == nil {
		return b
	}
	return def
}

// Number returns the value of name as a number, or def when it is empty or
// not a number.
func (c Config) Number(name string, def float64) float64 {
	if f, err := strconv.ParseFloat(strings.TrimSpace(c[name]), 64); err == nil {
		return f
	}
	return def
}

// FieldErrors is what Configure returns to refuse settings: config field
// name → message, shown next to the field in the console.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(e)) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, e[k])
	}
	return b.String()
}

// Configurable is what every kind implements first: Configure receives the
// settings after every start of the plugin and after every change. Return
// FieldErrors to refuse values; the plugin keeps its previous settings then.
type Configurable interface {
	Configure(ctx context.Context, cfg Config) error
}

// configure runs c.Configure and splits field errors (an answer) from other
// errors (a failure).
func configure(ctx context.Context, c Configurable, values map[string]string) (map[string]string, error) {
	if values == nil {
		values = map[string]string{}
	}
	err := c.Configure(ctx, Config(values))
	var fe FieldErrors
	if errors.As(err, &fe) {
		return fe, nil
	}
	return nil, err
}

// fieldErrorsOrNil turns the answer of the Configure RPC into an error.
func fieldErrorsOrNil(m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	return FieldErrors(m)
}

// Logger returns a logger for the plugin's own messages. It writes JSON
// lines to stderr in the form the host reads, so they end up in
// Licensor's log with their level and attributes, tagged with the plugin.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // the host stamps the time
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

// serve is what every Serve function ends in: print the manifest when
// asked to, else serve the kind's gRPC service until the host kills us.
func serve(m Manifest, kind Kind, p plugin.Plugin) {
	if len(os.Args) == 2 && os.Args[1] == "manifest" {
		if err := printManifest(m, kind); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{string(kind): p},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: m.Name, Level: hclog.Debug, Output: os.Stderr, JSONFormat: true,
		}),
	})
}
