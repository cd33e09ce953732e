package plugins

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"strings"
	"sync"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/sdk"
)

// RegisterCaptchas registers every installed CAPTCHA plugin in reg under
// its name, so the setting captcha_provider "plugin:<name>" selects it. A
// disabled or broken plugin stays registered: its calls fail and the
// portal refuses the form with "try again" rather than skip the check.
func RegisterCaptchas(reg *captcha.Registry, s *Service) error {
	for _, p := range s.host.List() {
		if p.Manifest.Kind != sdk.KindCaptcha {
			continue
		}
		if err := reg.Register(p.Name, &captchaProvider{plugin: s.host.Captcha(p.Name)}); err != nil {
			return err
		}
	}
	return nil
}

// captchaProvider is a CAPTCHA plugin as a captcha.Provider.
type captchaProvider struct {
	plugin *host.Captcha
	mu     sync.Mutex
	// field is the response field the plugin's widget posts, learnt from
	// its last Widget answer.
	field string
	// origins are where the widget loads from, for the page's
	// Content-Security-Policy.
	origins []string
}

// Origins are the origins the last widget drawn loads scripts and frames
// from; the portal allows them in the page's Content-Security-Policy.
func (p *captchaProvider) Origins() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.origins...)
}

// Widget is the plugin's markup followed by its scripts.
func (p *captchaProvider) Widget(ctx context.Context, form string) (template.HTML, error) {
	w, err := p.plugin.Widget(ctx, sdk.WidgetRequest{Form: form})
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.field, p.origins = w.ResponseField, w.Origins
	p.mu.Unlock()
	var b strings.Builder
	b.WriteString(w.HTML)
	for _, src := range w.ScriptURLs {
		// The host accepted only absolute http(s) URLs.
		fmt.Fprintf(&b, `<script src="%s" async defer></script>`, html.EscapeString(src))
	}
	return template.HTML(b.String()), nil //nolint:gosec // the plugin is installed by an admin; its script URLs are checked by the host
}

// Verify asks the plugin about the token in its response field.
func (p *captchaProvider) Verify(ctx context.Context, form string, response map[string]string, remoteIP string) (captcha.Result, error) {
	p.mu.Lock()
	field := p.field
	p.mu.Unlock()
	if field == "" {
		w, err := p.plugin.Widget(ctx, sdk.WidgetRequest{Form: form})
		if err != nil {
			return captcha.Result{}, err
		}
		field = w.ResponseField
	}
	token := strings.TrimSpace(response[field])
	if token == "" {
		return captcha.Result{Reason: captcha.ReasonMissing}, nil
	}
	v, err := p.plugin.Verify(ctx, sdk.VerifyRequest{Token: token, RemoteIP: remoteIP, Form: form})
	if err != nil {
		return captcha.Result{}, err
	}
	return captcha.Result{OK: v.OK, Reason: v.Reason}, nil
}
