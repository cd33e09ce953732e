// Package captcha asks the CAPTCHA provider chosen in settings
// (captcha_provider, captcha_forms; docs/features.md#security,
// docs/configuration.md#run-time-settings) to draw its widget in a portal form
// and to check what the browser posted back.
//
// # Providers
//
// A Provider draws the markup that goes inside a form (Widget) and checks
// the answer (Verify). Two are built in, both keeping their answers in
// PostgreSQL (table captcha_challenges) so that any node can check a form
// another node drew, each answer single-use and expiring:
//
//   - "math": a small sum ("What is 7 plus 4?"), fields captcha_id and
//     captcha_answer;
//   - "image": six digits drawn by github.com/dchest/captcha, served by the
//     portal at /customer/captcha/{id}.png (…?reload=1 draws new digits
//     under the same id), same fields. Store implements dchest/captcha's
//     Store interface over the table.
//
// Other providers (the CAPTCHA plugins: reCAPTCHA, hCaptcha, Turnstile) are
// registered by name when the node is wired, with Registry.Register; the
// setting value "plugin:<name>" selects the provider registered as <name>.
// A plugin-backed Provider typically:
//
//   - returns from Widget the plugin's markup, with its scripts as <script
//     src=… async defer> tags (the page's Content-Security-Policy must then
//     allow those hosts);
//   - in Verify, reads its response field (for example
//     response["g-recaptcha-response"]) and the remote IP, asks the plugin,
//     and returns Result{OK: false, Reason: …} when the answer is refused.
//     The reason is logged, never shown; the portal shows the user its own
//     message. A returned error means the provider could not decide (plugin
//     down, network): the portal then refuses the form with "try again".
//
// Providers must be safe for concurrent use. This package never imports
// Fiber: the portal passes the form name, the posted fields and the client
// IP.
package captcha

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/settings"
)

// The forms that may show a CAPTCHA: the values of the captcha_forms
// setting.
const (
	FormLogin          = "login"
	FormRegister       = "register"
	FormPasswordForgot = "password_forgot"
)

// The captcha_provider values of the built-in providers, and of none.
const (
	ProviderNone  = "none"
	ProviderMath  = "math"
	ProviderImage = "image"
	pluginPrefix  = "plugin:"
)

// Messages the portal shows next to the CAPTCHA.
const (
	MsgMissing     = "Please answer the security check."
	MsgWrong       = "The answer to the security check is not correct. Please try the new one."
	MsgUnavailable = "The security check is not available right now. Please try again later."
)

// Provider draws a CAPTCHA widget and checks its answer. See the package
// documentation for what a plugin-backed provider does.
type Provider interface {
	// Widget returns the markup placed inside form (FormLogin, …), before
	// its submit button. It is inserted as is, so it must be safe HTML.
	Widget(ctx context.Context, form string) (template.HTML, error)
	// Verify checks the fields the browser posted with form (every field
	// except passwords and the CSRF token) from the client IP remoteIP.
	Verify(ctx context.Context, form string, response map[string]string, remoteIP string) (Result, error)
}

// Result is a Provider's verdict. Reason says why a refused answer was
// refused ("missing", "wrong", "expired or used", or the plugin's words);
// it goes to the log and the sign-in history, not to the user.
type Result struct {
	OK     bool
	Reason string
}

// Refused reasons of the built-in providers.
const (
	ReasonMissing = "missing"
	ReasonWrong   = "wrong"
	ReasonExpired = "expired or used"
)

// ErrUnknownProvider is returned by For when captcha_provider names a
// plugin that is not registered on this node (not installed, or failed to
// start). The portal refuses the form rather than let it through without
// its check.
var ErrUnknownProvider = errors.New("captcha provider not available")

// Registry holds the providers a node can use: the built-in ones and those
// registered at wiring time. It is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]Provider
}

// NewRegistry returns a registry with the built-in math and image
// providers, whose answers live in db's captcha_challenges table; now nil
// means time.Now.
func NewRegistry(db bun.IDB, now func() time.Time) *Registry {
	store := NewStore(db, ProviderMath, now)
	return &Registry{providers: map[string]Provider{
		ProviderMath:  NewMath(store),
		ProviderImage: NewImage(store),
	}}
}

// Register adds (or replaces) the provider selected by the setting value
// "plugin:<name>". name must be a plain identifier.
func (r *Registry) Register(name string, p Provider) error {
	if name == "" || strings.ContainsAny(name, ": \t\n") || p == nil {
		return fmt.Errorf("captcha: register %q: invalid name or nil provider", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.providers[pluginPrefix+name] = p
	return nil
}

// Unregister removes the plugin provider name (a plugin that stopped).
func (r *Registry) Unregister(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.providers, pluginPrefix+name)
}

// Names lists the setting values this node can serve, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.providers))
	for n := range r.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// For returns the provider form must show under set, or nil when the form
// shows none (captcha_provider none, or form not in captcha_forms). A
// plugin provider that is not registered is ErrUnknownProvider.
func (r *Registry) For(set *settings.Values, form string) (Provider, error) {
	if set.CaptchaProvider == "" || set.CaptchaProvider == ProviderNone {
		return nil, nil
	}
	on := false
	for _, f := range set.CaptchaForms {
		on = on || f == form
	}
	if !on {
		return nil, nil
	}
	r.mu.RLock()
	p := r.providers[set.CaptchaProvider]
	r.mu.RUnlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownProvider, set.CaptchaProvider)
	}
	return p, nil
}

// Image is the built-in image provider, exposed so the portal can serve
// the images.
func (r *Registry) Image() *ImageProvider {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, _ := r.providers[ProviderImage].(*ImageProvider)
	return p
}
