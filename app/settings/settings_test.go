package settings

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/test/eventually"
)

var admin = audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "root"}, IP: "127.0.0.1"}

func TestEveryDefinitionHasAFieldAndADefaultOfItsKind(t *testing.T) {
	index := fieldIndex()
	seen := map[string]bool{}
	for _, d := range Definitions() {
		if seen[d.Key] {
			t.Errorf("%s defined twice", d.Key)
		}
		seen[d.Key] = true
		if _, ok := index[d.Key]; !ok {
			t.Errorf("%s has no Values field", d.Key)
		}
		want := map[Kind]reflect.Kind{Bool: reflect.Bool, Int: reflect.Int, Enum: reflect.String, String: reflect.String,
			List: reflect.Slice, IntList: reflect.Slice}[d.Kind]
		if reflect.TypeOf(d.Default).Kind() != want {
			t.Errorf("%s: default %T does not match its kind", d.Key, d.Default)
		}
	}
	for key := range index {
		if !seen[key] {
			t.Errorf("Values field %s has no definition", key)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	v, err := Load(context.Background(), d.Bun)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, Defaults()) {
		t.Fatal("an empty settings table must read as the defaults")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"app_name", v.AppName, "Licensor"},
		{"timezone", v.Location(), time.UTC},
		{"license_code_format", v.LicenseCodeFormat, "uuid"},
		{"license_code_random_length", v.LicenseCodeRandomLength, 32},
		{"license_code_case_insensitive", v.LicenseCodeCase, "uppercase"},
		{"product_unique_id_format", v.ProductUniqueIDFormat, "hex8"},
		{"product_version_unique_id_format", v.ProductVersionUniqueIDFormat, "ulid"},
		{"add_entries_for_failed_activation_attempts", v.AddEntriesForFailedActivationAttempts, true},
		{"deactivate_old_activations_on_new_activation", v.DeactivateOldActivationsOnNewActivation, false},
		{"normalize_domain_variants", v.NormalizeDomainVariants, true},
		{"verify_license_ip", v.VerifyLicenseIP, false},
		{"requests_rate_limiting_period", v.RequestsRateLimitingPeriod, 3000},
		{"blacklisted_ips", v.BlacklistedIPs, []string{}},
		{"expiration_warning_days", v.ExpirationWarningDays, []int{7, 1}},
		{"expiry_scan_time", v.ExpiryScanTime, "01:00"},
		{"captcha_provider", v.CaptchaProvider, "none"},
		{"captcha_forms", v.CaptchaForms, []string{"login", "register", "password_forgot"}},
		{"password_min_length", v.PasswordMinLength, 10},
		{"customer_session_lifetime", v.CustomerSessionLifetime, 10080},
		{"admin_session_lifetime", v.AdminSessionLifetime, 720},
		{"webhook_events", len(v.WebhookEvents), 12},
		{"login_history_retention_days", v.LoginHistoryRetentionDays, 180},
		{"finished_jobs_retention_days", v.FinishedJobsRetentionDays, 7},
		{"legacy_license_cipher", v.LegacyLicenseCipher, "aes-128-cbc"},
		{"sender", v.SenderAddress("lic.example.com") + " " + v.SenderName(), "no-reply@lic.example.com Licensor"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestSetStoresTypedValues(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	changed, err := Set(ctx, d.Bun, admin, map[string]string{
		"verify_license_ip":                            "Yes",
		"license_code_random_length":                   " 40 ",
		"license_code_format":                          "RANDOM",
		"timezone":                                     "Europe/Berlin",
		"blacklisted_ips":                              "10.0.0.1, 192.168.0.0/16\n10.0.*\n10.0.0.1",
		"blacklisted_buyer_names":                      "Acme, Inc.\nEvil Corp\nevil corp",
		"expiration_warning_days":                      "1,30,7,7",
		"captcha_forms":                                "LOGIN",
		"captcha_provider":                             "plugin:captcha-recaptcha",
		"legacy_license_key":                           "base64:AAAAAAAAAAAAAAAAAAAAAA==",
		"deactivate_old_activations_on_new_activation": "off",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Setting a value equal to the (unstored) default still stores it once.
	if len(changed) != 11 {
		t.Fatalf("changed %v", changed)
	}
	v, err := Load(ctx, d.Bun)
	if err != nil {
		t.Fatal(err)
	}
	if !v.VerifyLicenseIP || v.LicenseCodeRandomLength != 40 || v.LicenseCodeFormat != "random" ||
		v.Location().String() != "Europe/Berlin" || v.CaptchaProvider != "plugin:captcha-recaptcha" {
		t.Fatalf("%+v", v)
	}
	if !reflect.DeepEqual(v.BlacklistedIPs, []string{"10.0.0.1", "192.168.0.0/16", "10.0.*"}) {
		t.Errorf("ips %q", v.BlacklistedIPs)
	}
	if !reflect.DeepEqual(v.BlacklistedBuyerNames, []string{"Acme, Inc.", "Evil Corp"}) {
		t.Errorf("buyer names %q", v.BlacklistedBuyerNames)
	}
	if !reflect.DeepEqual(v.ExpirationWarningDays, []int{30, 7, 1}) || !reflect.DeepEqual(v.CaptchaForms, []string{"login"}) {
		t.Errorf("%v %v", v.ExpirationWarningDays, v.CaptchaForms)
	}

	// Saving the same values again changes nothing and logs nothing more.
	changed, err = Set(ctx, d.Bun, admin, map[string]string{"verify_license_ip": "1", "timezone": "Europe/Berlin"})
	if err != nil || len(changed) != 0 {
		t.Fatalf("%v %v", changed, err)
	}
	var logged []string
	if err := d.Bun.NewRaw("SELECT message FROM activity_log WHERE type = 'settings.updated'").Scan(ctx, &logged); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "Settings changed via console: timezone, license_code_format") {
		t.Fatalf("log %q", logged)
	}
}

func TestSetValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	cases := []struct {
		key, value, want string
	}{
		{"verify_license_ip", "maybe", "The verify license ip field must be true or false."},
		{"license_code_random_length", "abc", "The license code random length field must be an integer."},
		{"license_code_random_length", "19", "The license code random length field must be at least 20."},
		{"license_code_random_length", "101", "The license code random length field must not be greater than 100."},
		{"password_min_length", "7", "The password min length field must be at least 8."},
		{"license_code_format", "sequential", "The selected license code format is invalid."},
		{"timezone", "Mars/Olympus", "The timezone field must be a valid time zone."},
		{"mail_from_address", "not-an-email", "The mail from address field must be a valid email address."},
		{"expiry_scan_time", "25:00", "The expiry scan time field must be a time in HH:MM format."},
		{"webhook_url", "http://example.com/hook", "The webhook url field must be a valid HTTPS URL."},
		{"get_more_licenses_url", "shop", "The get more licenses url field must be a valid URL."},
		{"blacklisted_ips", "10.0.0.1\nnot an ip", "The blacklisted ips.1 field must be a valid IP address or CIDR range."},
		{"expiration_warning_days", "7,0", "The expiration warning days.1 field must be at least 1."},
		{"captcha_forms", "login,checkout", "The selected captcha forms.1 is invalid."},
		{"captcha_provider", "recaptcha", "The selected captcha provider is invalid."},
		{"app_name", "  ", "The app name field is required."},
		{"license_code_custom_format", "ABCD", "The license code custom format field format is invalid: use %X (digit), %Y (letter), %Z (either) and the characters A-Z, a-z, 0-9, '.', '_', '-'."},
		{"license_code_custom_format", "%X %Y", "The license code custom format field format is invalid: use %X (digit), %Y (letter), %Z (either) and the characters A-Z, a-z, 0-9, '.', '_', '-'."},
		{"license_code_format", "custom", "The license code custom format field is required when license code format is custom."},
		{"enable_webhooks", "on", "The webhook url field is required when webhooks are enabled."},
		{"legacy_license_key", "0123456789abcdef0123456789abcdef", "The legacy license key must be 16 bytes long for aes-128-cbc."},
		{"no_such_setting", "1", "The no_such_setting setting does not exist."},
	}
	for _, c := range cases {
		_, err := Set(ctx, d.Bun, admin, map[string]string{c.key: c.value})
		verr, ok := fields.As(err)
		if !ok {
			t.Errorf("%s=%q: got %v, want a validation error", c.key, c.value, err)
			continue
		}
		got := verr.Map()
		if len(got) != 1 || verr.First() != c.want {
			t.Errorf("%s=%q: got %v, want %q", c.key, c.value, got, c.want)
		}
	}

	// One bad value keeps every other change of the same call out.
	_, err := Set(ctx, d.Bun, admin, map[string]string{"app_name": "Shop", "verify_license_ip": "maybe"})
	if _, ok := fields.As(err); !ok {
		t.Fatal(err)
	}
	v, _ := Load(ctx, d.Bun)
	if v.AppName != "Licensor" {
		t.Fatal("a failed Set wrote a value")
	}
	// Cross-key rules pass when both keys change together.
	if _, err := Set(ctx, d.Bun, admin, map[string]string{"license_code_format": "custom", "license_code_custom_format": "LIC-%X%X%Y-%Z"}); err != nil {
		t.Fatal(err)
	}
}

func TestChangeSeenByAnotherNodeByNotify(t *testing.T) {
	t.Parallel()
	dsn := dbtest.NewDSN(t)
	ctx := context.Background()
	node := func() (*db.DB, *Store) {
		d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 8, MaxIdleConns: 2, ConnMaxLifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		l := pgnotify.New(d.Pool, nil)
		s, err := NewStore(d.Bun, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(); d.Close() })
		return d, s
	}
	d1, s1 := node()
	_, s2 := node()
	// Node 2's clock stands still, so its snapshot never goes stale: only
	// the NOTIFY can bring the change (a store whose listener is down
	// rereads after staleAfter).
	stopped := time.Now()
	s2.now = func() time.Time { return stopped }

	for _, s := range []*Store{s1, s2} {
		v, err := s.Get(ctx)
		if err != nil || v.AppName != "Licensor" {
			t.Fatal(v, err)
		}
	}
	// The snapshot is served from memory, not re-read per Get.
	before, _ := s2.Get(ctx)
	if again, _ := s2.Get(ctx); again != before {
		t.Fatal("second Get should be served from memory")
	}

	err := d1.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := Set(ctx, tx, admin, map[string]string{"app_name": "Acme Licensing"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// docs/configuration.md promises a second; on an idle machine it takes
	// milliseconds. The wait goes to ten times that, as test/cluster's
	// (settingBound), so a loaded CI box where the notification or the
	// goroutines lag past a second does not fail a change that did arrive;
	// one that never arrives still fails. Over the second is logged.
	start := time.Now()
	eventually.True(t, 10*staleAfter, "the other node sees the change", func() bool {
		v, err := s2.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v.AppName == "Acme Licensing"
	})
	if took := time.Since(start); took > staleAfter {
		t.Logf("seen by the other node after %v, over the documented second (a loaded machine?)", took)
	} else {
		t.Logf("seen by the other node after %v", took)
	}
}

func TestStoreWithoutListenerRereadsAfterASecond(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s, _ := NewStore(d.Bun, nil)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if v, _ := s.Get(ctx); v.AppName != "Licensor" {
		t.Fatal(v.AppName)
	}
	if _, err := Set(ctx, d.Bun, admin, map[string]string{"app_name": "Later"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(ctx); v.AppName != "Licensor" {
		t.Fatal("served from memory within the second")
	}
	now = now.Add(staleAfter)
	if v, _ := s.Get(ctx); v.AppName != "Later" {
		t.Fatal("not reloaded after a second")
	}
}

// The console shows each setting's description under its input: none may
// be missing.
func TestEveryDefinitionHasADescription(t *testing.T) {
	for _, d := range Definitions() {
		if strings.TrimSpace(d.Description) == "" {
			t.Errorf("setting %s has no description", d.Key)
		}
	}
}
