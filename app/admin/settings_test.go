package admin_test

import (
	"context"
	"html"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

func loadSettings(t *testing.T, e *servertest.Env) *settings.Values {
	t.Helper()
	v, err := settings.Load(context.Background(), e.DB.Bun)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func blacklistForm(ips string) url.Values {
	return url.Values{"blacklisted_ips": {ips}, "blacklisted_domains": {""}, "blacklisted_buyer_names": {"Bad, Buyer Inc.\nOther one"},
		"blacklisted_license_codes": {""}, "blacklist_domain_after_failed_attempts": {"0"},
		"blacklist_ip_after_failed_attempts": {"3"}, "auto_blacklist_window_days": {"30"}}
}

func TestSettingsPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if r := c.Get("/admin/settings"); r.StatusCode != 200 || !strings.Contains(r.Body, `href="/admin/settings/general" aria-current="page"`) {
		t.Fatalf("settings root: %d\n%s", r.StatusCode, r.Body)
	}
	r := c.Get("/admin/settings/general")
	for _, want := range []string{`href="/admin/settings/blacklists"`, `href="/admin/settings/api"`, `href="/admin/settings/general" aria-current="page"`,
		`name="app_name" value="Licensor"`, "Name shown in the portal and emails.", `type="number" name="admin_session_lifetime" value="720"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("general lacks %q:\n%s", want, r.Body)
		}
	}
	r = c.Get("/admin/settings/activation")
	if !strings.Contains(r.Body, `type="checkbox" name="normalize_domain_variants" value="1" checked role="switch"`) ||
		strings.Contains(r.Body, `name="verify_license_ip" value="1" checked`) {
		t.Fatalf("activation checkboxes:\n%s", r.Body)
	}
	if r := c.Get("/admin/settings/api"); !strings.Contains(r.Body, `<option value="ip_address" selected>`) {
		t.Errorf("api select:\n%s", r.Body)
	}
	if r := c.Get("/admin/settings/webhooks"); !strings.Contains(r.Body, `name="webhook_events" value="license.created" checked`) {
		t.Errorf("webhook events:\n%s", r.Body)
	}
	if r := c.Get("/admin/settings/nope"); r.StatusCode != 404 {
		t.Errorf("unknown group: %d", r.StatusCode)
	}
	if r := c.PostForm("/admin/settings/nope", url.Values{}); r.StatusCode != 404 {
		t.Errorf("unknown group POST: %d", r.StatusCode)
	}
}

func TestSettingsSave(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)

	// A boolean: verify_license_ip ticked, normalize_domain_variants not; the group's number too.
	r := c.PostForm("/admin/settings/activation", url.Values{"add_entries_for_failed_activation_attempts": {"1"},
		"add_entries_for_failed_update_download_attempts": {"1"}, "verify_license_ip": {"1"}, "offline_license_validity_days": {"90"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/settings/activation" {
		t.Fatalf("save activation: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if v := loadSettings(t, e); !v.VerifyLicenseIP || v.NormalizeDomainVariants || !v.AddEntriesForFailedActivationAttempts ||
		v.OfflineLicenseValidityDays != 90 {
		t.Errorf("activation settings not saved: %+v", v)
	}
	if r := c.Get("/admin/settings/activation"); !strings.Contains(r.Body, "Activation settings saved.") ||
		!strings.Contains(r.Body, `name="verify_license_ip" value="1" checked`) {
		t.Errorf("after save:\n%s", r.Body)
	}

	// A list, one entry per line (commas kept in buyer names).
	r = c.PostForm("/admin/settings/blacklists", blacklistForm("203.0.113.1\r\n10.0.0.0/8\n"))
	if r.StatusCode != 303 {
		t.Fatalf("save blacklists: %d\n%s", r.StatusCode, r.Body)
	}
	v := loadSettings(t, e)
	if strings.Join(v.BlacklistedIPs, "|") != "203.0.113.1|10.0.0.0/8" || strings.Join(v.BlacklistedBuyerNames, "|") != "Bad, Buyer Inc.|Other one" ||
		v.BlacklistIPAfterFailedAttempts != 3 {
		t.Errorf("lists not saved: %q %q %d", v.BlacklistedIPs, v.BlacklistedBuyerNames, v.BlacklistIPAfterFailedAttempts)
	}
	if r := c.Get("/admin/settings/blacklists"); !strings.Contains(r.Body, "203.0.113.1\n10.0.0.0/8</textarea>") {
		t.Errorf("list not shown one per line:\n%s", r.Body)
	}

	// The changes are in the activity log, by the admin.
	var n int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE type = 'settings.updated' AND actor_type = 'admin'
		AND message LIKE '%verify_license_ip%'`).Scan(context.Background(), &n); err != nil || n != 1 {
		t.Errorf("activity entries: %d, %v", n, err)
	}
	if r := c.Get("/admin/activity?type=settings.updated"); !strings.Contains(r.Body, "blacklisted_ips") {
		t.Errorf("activity page lacks the change:\n%s", r.Body)
	}

	// A bad value: 422, its message next to it, typed values kept, nothing saved.
	r = c.PostForm("/admin/settings/blacklists", blacklistForm("203.0.113.5\nnot-an-ip"))
	if r.StatusCode != 422 || !strings.Contains(r.Body, `class="field-error" id="setting-blacklisted_ips-error"`) ||
		!strings.Contains(r.Body, "203.0.113.5\nnot-an-ip</textarea>") || !strings.Contains(html.UnescapeString(r.Body), "Bad, Buyer Inc.") {
		t.Fatalf("bad value: %d\n%s", r.StatusCode, r.Body)
	}
	form := blacklistForm("")
	form.Set("auto_blacklist_window_days", "0")
	if r := c.PostForm("/admin/settings/blacklists", form); r.StatusCode != 422 || !strings.Contains(r.Body, `id="setting-auto_blacklist_window_days-error"`) {
		t.Errorf("out of range: %d\n%s", r.StatusCode, r.Body)
	}
	if v := loadSettings(t, e); len(v.BlacklistedIPs) != 2 || v.AutoBlacklistWindowDays != 30 {
		t.Errorf("bad post saved something: %q %d", v.BlacklistedIPs, v.AutoBlacklistWindowDays)
	}
}

func TestSettingsNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	for _, p := range []string{"/admin/settings", "/admin/settings/general"} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	anon.GetCSRF("/admin/login")
	if r := anon.PostForm("/admin/settings/general", url.Values{"app_name": {"Hacked"}}); r.StatusCode != 302 {
		t.Errorf("anonymous POST: %d", r.StatusCode)
	}
	c := e.SignIn(t)
	c.CSRF = ""
	if r := c.PostForm("/admin/settings/general", url.Values{"app_name": {"Hacked"}}); r.StatusCode != 403 {
		t.Errorf("POST without token: %d, want 403", r.StatusCode)
	}
	if v := loadSettings(t, e); v.AppName != "Licensor" {
		t.Errorf("app name changed to %q", v.AppName)
	}
}

// Enum settings are selects with readable labels and examples; the time
// zone is chosen from the zone database and the CAPTCHA provider from the
// built-in providers (and installed plugins).
func TestSettingsChoicesAreSelects(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	for path, wants := range map[string][]string{
		"/admin/settings/licenses": {`<div class="setting" id="setting-license_code_custom_format-row" data-show-when="license_code_format=custom">`, `<select id="setting-license_code_format" name="license_code_format"`, `<option value="uuid" selected>UUID (e.g. CDE25DA0-`, `<option value="custom">Custom pattern`},
		"/admin/settings/general":  {`<select id="setting-timezone" name="timezone"`, `<option value="UTC" selected>UTC</option>`},
		"/admin/settings/captcha":  {`<select id="setting-captcha_provider" name="captcha_provider"`, `<option value="math">Math question (built in)</option>`, `value="password_forgot"`, `> Forgot password</label>`},
	} {
		r := c.Get(path)
		for _, want := range wants {
			if !strings.Contains(r.Body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
	if _, err := os.Stat("/usr/share/zoneinfo/zone1970.tab"); err == nil {
		if r := c.Get("/admin/settings/general"); !strings.Contains(r.Body, `<option value="Europe/Berlin">Europe/Berlin</option>`) {
			t.Error("the zone database's zones are not offered")
		}
	}
}
