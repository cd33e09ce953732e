// Command captcha-recaptcha is the CAPTCHA plugin for Google reCAPTCHA v2
// (checkbox) and v3 (score, with a threshold). hCaptcha and Cloudflare
// Turnstile verify with the same protocol: set their verify URL, script URL,
// widget class and response field.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
)

var manifest = sdk.Manifest{
	Name:        "captcha-recaptcha",
	Version:     "1.0.0",
	Description: "Google reCAPTCHA v2/v3 (score threshold); hCaptcha and Cloudflare Turnstile through their verify URLs.",
	Config: []sdk.ConfigField{
		{Name: "site_key", Label: "Site key", Type: sdk.FieldString, Required: true},
		{Name: "secret_key", Label: "Secret key", Type: sdk.FieldString, Required: true, Secret: true},
		{Name: "version", Label: "Version", Type: sdk.FieldString, Default: "v2",
			Help: "v2 (checkbox; also hCaptcha and Turnstile) or v3 (invisible, scored)."},
		{Name: "score_threshold", Label: "Score threshold", Type: sdk.FieldNumber, Default: "0.5",
			Help: "Responses scored below this (0 to 1) are refused, when the provider returns a score."},
		{Name: "verify_url", Label: "Verify URL", Type: sdk.FieldURL, Default: "https://www.google.com/recaptcha/api/siteverify",
			Help: "hCaptcha: https://api.hcaptcha.com/siteverify; Turnstile: https://challenges.cloudflare.com/turnstile/v0/siteverify."},
		{Name: "script_url", Label: "Script URL", Type: sdk.FieldURL, Default: "https://www.google.com/recaptcha/api.js",
			Help: "hCaptcha: https://js.hcaptcha.com/1/api.js; Turnstile: https://challenges.cloudflare.com/turnstile/v0/api.js."},
		{Name: "widget_class", Label: "Widget class", Type: sdk.FieldString, Default: "g-recaptcha",
			Help: "h-captcha for hCaptcha, cf-turnstile for Turnstile."},
		{Name: "response_field", Label: "Response field", Type: sdk.FieldString, Default: "g-recaptcha-response",
			Help: "h-captcha-response for hCaptcha, cf-turnstile-response for Turnstile."},
	},
}

func main() {
	sdk.ServeCaptcha(manifest, &provider{http: &http.Client{Timeout: 10 * time.Second}})
}

type settings struct {
	siteKey, secretKey, version string
	threshold                   float64
	verifyURL, scriptURL        string
	widgetClass, responseField  string
}

type provider struct {
	http *http.Client
	mu   sync.RWMutex
	cfg  *settings
}

func (p *provider) Configure(_ context.Context, cfg sdk.Config) error {
	s := settings{
		siteKey:       cfg.String("site_key", ""),
		secretKey:     cfg.String("secret_key", ""),
		version:       cfg.String("version", "v2"),
		threshold:     cfg.Number("score_threshold", 0.5),
		verifyURL:     cfg.String("verify_url", "https://www.google.com/recaptcha/api/siteverify"),
		scriptURL:     cfg.String("script_url", "https://www.google.com/recaptcha/api.js"),
		widgetClass:   cfg.String("widget_class", "g-recaptcha"),
		responseField: cfg.String("response_field", "g-recaptcha-response"),
	}
	bad := sdk.FieldErrors{}
	if s.siteKey == "" {
		bad["site_key"] = "Enter the site key."
	}
	if s.secretKey == "" {
		bad["secret_key"] = "Enter the secret key."
	}
	if s.version != "v2" && s.version != "v3" {
		bad["version"] = "Enter v2 or v3."
	}
	if s.threshold < 0 || s.threshold > 1 {
		bad["score_threshold"] = "Enter a number from 0 to 1."
	}
	for field, v := range map[string]string{"verify_url": s.verifyURL, "script_url": s.scriptURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad[field] = "Enter an http(s) URL."
		}
	}
	if len(bad) > 0 {
		return bad
	}
	p.mu.Lock()
	p.cfg = &s
	p.mu.Unlock()
	return nil
}

func (p *provider) settings() (*settings, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.cfg == nil {
		return nil, fmt.Errorf("captcha-recaptcha is not configured: enter the site and secret keys")
	}
	return p.cfg, nil
}

func (p *provider) Widget(_ context.Context, req sdk.WidgetRequest) (sdk.Widget, error) {
	s, err := p.settings()
	if err != nil {
		return sdk.Widget{}, err
	}
	key := html.EscapeString(s.siteKey)
	origins := originsOf(s.scriptURL)
	if s.version == "v3" {
		// v3 has no visible widget: on submit, Licensor's page script
		// (static/js/app.js) asks grecaptcha.execute(siteKey, {action})
		// for a token and puts it in this field.
		return sdk.Widget{
			HTML: fmt.Sprintf(`<input type="hidden" name="%s" data-recaptcha-v3="%s" data-action="%s">`,
				html.EscapeString(s.responseField), key, html.EscapeString(action(req.Form))),
			ScriptURLs:    []string{withQuery(s.scriptURL, "render", s.siteKey)},
			ResponseField: s.responseField,
			Origins:       origins,
		}, nil
	}
	script := s.scriptURL
	if req.Locale != "" {
		script = withQuery(script, "hl", req.Locale)
	}
	return sdk.Widget{
		HTML:          fmt.Sprintf(`<div class="%s" data-sitekey="%s"></div>`, html.EscapeString(s.widgetClass), key),
		ScriptURLs:    []string{script},
		ResponseField: s.responseField,
		Origins:       origins,
	}, nil
}

// withQuery adds name=value to the query of the script URL raw (which
// Configure checked).
func withQuery(raw, name, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// originsOf are the origins the widget of scriptURL loads from: the
// script's own, and the ones each known provider's script pulls in.
func originsOf(scriptURL string) []string {
	u, err := url.Parse(scriptURL)
	if err != nil || u.Host == "" {
		return nil
	}
	out := []string{u.Scheme + "://" + u.Host}
	switch u.Hostname() {
	case "www.google.com", "www.recaptcha.net":
		out = append(out, "https://www.gstatic.com")
	case "js.hcaptcha.com":
		out = append(out, "https://*.hcaptcha.com")
	}
	return out
}

// action turns a form name into a reCAPTCHA v3 action (letters, slashes and
// underscores only).
func action(form string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '/' {
			return r
		}
		return '_'
	}, form)
}

// siteverify is the answer of reCAPTCHA, hCaptcha and Turnstile alike.
type siteverify struct {
	Success    bool     `json:"success"`
	Score      *float64 `json:"score"`
	Action     string   `json:"action"`
	ErrorCodes []string `json:"error-codes"`
}

func (p *provider) Verify(ctx context.Context, req sdk.VerifyRequest) (sdk.Verdict, error) {
	s, err := p.settings()
	if err != nil {
		return sdk.Verdict{}, err
	}
	if strings.TrimSpace(req.Token) == "" {
		return sdk.Verdict{Reason: "no response token"}, nil
	}
	form := url.Values{"secret": {s.secretKey}, "response": {req.Token}}
	if req.RemoteIP != "" {
		form.Set("remoteip", req.RemoteIP)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.verifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return sdk.Verdict{}, err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := p.http.Do(hreq)
	if err != nil {
		return sdk.Verdict{}, fmt.Errorf("verify: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return sdk.Verdict{}, fmt.Errorf("verify: %s answered %s", s.verifyURL, res.Status)
	}
	var out siteverify
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out); err != nil {
		return sdk.Verdict{}, fmt.Errorf("verify: unreadable answer: %w", err)
	}
	if !out.Success {
		reason := "refused by the provider"
		if len(out.ErrorCodes) > 0 {
			reason += ": " + strings.Join(out.ErrorCodes, ", ")
		}
		return sdk.Verdict{Reason: reason}, nil
	}
	v := sdk.Verdict{OK: true}
	if out.Score != nil {
		v.Score = *out.Score
		if v.Score < s.threshold {
			return sdk.Verdict{Score: v.Score, Reason: fmt.Sprintf("score %.2f below the threshold %.2f", v.Score, s.threshold)}, nil
		}
	}
	if s.version == "v3" && out.Action != "" && req.Form != "" && out.Action != action(req.Form) {
		return sdk.Verdict{Score: v.Score, Reason: fmt.Sprintf("token made for action %q, not %q", out.Action, action(req.Form))}, nil
	}
	return v, nil
}
