package settings

// Kind is the type of a setting's value.
type Kind int

const (
	Bool    Kind = iota // stored as a JSON boolean
	Int                 // JSON number within [Min, Max] (Max 0: no upper bound)
	Enum                // one of Options
	String              // free text up to MaxLen, checked by check
	List                // JSON array of strings; items from Options when set
	IntList             // JSON array of numbers within [Min, Max]
)

// Definition describes one setting: its key, console group, type, default
// and rules. Definitions lists them all in the order of product.md §19.
type Definition struct {
	Key     string
	Group   string
	Kind    Kind
	Default any // bool, int, string, []string or []int, matching Kind
	Min     int
	Max     int
	Options []string
	MaxLen  int
	// Lines: list input is one entry per line, because entries (buyer
	// names) may contain commas. Other lists also split on commas.
	Lines bool
	// check validates a string value or list item; it returns the message
	// for field, or "".
	check func(field, value string) string
}

// The webhook events of api.md §8, the default of webhook_events.
var webhookEvents = []string{
	"license.expiring", "license.expired", "license.update_support_expired",
	"license.created", "license.updated", "license.blocked", "license.unblocked",
	"activation.created", "activation.deactivated", "customer.created",
}

// Definitions returns every setting. The slice is the caller's.
func Definitions() []Definition {
	idFormats := []string{"uuid", "ulid", "hex8", "hex16"}
	return []Definition{
		{Key: "app_name", Group: "general", Kind: String, Default: "Licensor", MaxLen: 100, check: checkRequired},
		{Key: "timezone", Group: "general", Kind: String, Default: "UTC", MaxLen: 64, check: checkTimezone},
		{Key: "mail_from_address", Group: "emails", Kind: String, Default: "", MaxLen: 254, check: checkEmail},
		{Key: "mail_from_name", Group: "emails", Kind: String, Default: "", MaxLen: 100},

		{Key: "license_code_format", Group: "licenses", Kind: Enum, Default: "uuid", Options: []string{"uuid", "ulid", "random", "custom"}},
		{Key: "license_code_custom_format", Group: "licenses", Kind: String, Default: "", MaxLen: 100, check: checkCodeFormat},
		{Key: "license_code_random_length", Group: "licenses", Kind: Int, Default: 32, Min: 20, Max: 100},
		{Key: "license_code_case_insensitive", Group: "licenses", Kind: Enum, Default: "uppercase", Options: []string{"uppercase", "lowercase", "mix"}},
		{Key: "product_unique_id_format", Group: "licenses", Kind: Enum, Default: "hex8", Options: idFormats},
		{Key: "product_version_unique_id_format", Group: "licenses", Kind: Enum, Default: "ulid", Options: idFormats},

		{Key: "add_entries_for_failed_activation_attempts", Group: "activation", Kind: Bool, Default: true},
		{Key: "add_entries_for_failed_update_download_attempts", Group: "activation", Kind: Bool, Default: true},
		{Key: "deactivate_old_activations_on_new_activation", Group: "activation", Kind: Bool, Default: false},
		{Key: "add_domain_of_first_activation_as_licensed_domain", Group: "activation", Kind: Bool, Default: false},
		{Key: "normalize_domain_variants", Group: "activation", Kind: Bool, Default: true},
		{Key: "verify_license_ip", Group: "activation", Kind: Bool, Default: false},

		{Key: "requests_rate_limiting_method", Group: "api", Kind: Enum, Default: "ip_address", Options: []string{"ip_address", "api_key", "api_key_ip_address"}},
		{Key: "requests_rate_limiting_period", Group: "api", Kind: Int, Default: 3000, Min: 1, Max: 1_000_000},

		{Key: "blacklisted_ips", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 100, check: checkIPEntry},
		{Key: "blacklisted_domains", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 253, check: checkNoSpace},
		{Key: "blacklisted_buyer_names", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 255, Lines: true},
		{Key: "blacklisted_license_codes", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 255, check: checkNoSpace},
		{Key: "blacklist_domain_after_failed_attempts", Group: "blacklists", Kind: Int, Default: 0, Min: 0, Max: 1_000_000},
		{Key: "blacklist_ip_after_failed_attempts", Group: "blacklists", Kind: Int, Default: 0, Min: 0, Max: 1_000_000},
		{Key: "auto_blacklist_window_days", Group: "blacklists", Kind: Int, Default: 30, Min: 1, Max: 3650},

		{Key: "send_expiration_warnings", Group: "emails", Kind: Bool, Default: true},
		{Key: "expiration_warning_days", Group: "emails", Kind: IntList, Default: []int{7, 1}, Min: 1, Max: 3650},
		{Key: "expiry_scan_time", Group: "emails", Kind: String, Default: "01:00", MaxLen: 5, check: checkClock},
		{Key: "send_welcome_email", Group: "emails", Kind: Bool, Default: true},
		{Key: "new_device_alerts", Group: "emails", Kind: Bool, Default: true},

		{Key: "enable_public_verification", Group: "portal", Kind: Bool, Default: false},
		{Key: "customer_page_licenses", Group: "portal", Kind: Bool, Default: true},
		{Key: "customer_page_activations", Group: "portal", Kind: Bool, Default: true},
		{Key: "allow_customer_deactivation", Group: "portal", Kind: Bool, Default: true},
		{Key: "get_more_licenses_url", Group: "portal", Kind: String, Default: "", MaxLen: 2048, check: checkURL},
		{Key: "registration_enabled", Group: "portal", Kind: Bool, Default: false},
		{Key: "email_verification_required", Group: "portal", Kind: Bool, Default: true},
		{Key: "captcha_provider", Group: "captcha", Kind: String, Default: "none", MaxLen: 100, check: checkCaptchaProvider},
		{Key: "captcha_forms", Group: "captcha", Kind: List, Default: []string{"login", "register", "password_forgot"}, Options: []string{"login", "register", "password_forgot"}},
		{Key: "password_min_length", Group: "portal", Kind: Int, Default: 10, Min: 8, Max: 128},
		{Key: "login_max_attempts", Group: "portal", Kind: Int, Default: 5, Min: 1, Max: 1000},
		{Key: "login_lockout_minutes", Group: "portal", Kind: Int, Default: 15, Min: 1, Max: 10080},
		{Key: "customer_session_lifetime", Group: "portal", Kind: Int, Default: 10080, Min: 5, Max: 525600},
		{Key: "admin_session_lifetime", Group: "general", Kind: Int, Default: 720, Min: 5, Max: 525600},

		{Key: "enable_webhooks", Group: "webhooks", Kind: Bool, Default: false},
		{Key: "webhook_url", Group: "webhooks", Kind: String, Default: "", MaxLen: 2048, check: checkHTTPSURL},
		{Key: "webhook_secret", Group: "webhooks", Kind: String, Default: "", MaxLen: 255},
		{Key: "webhook_events", Group: "webhooks", Kind: List, Default: append([]string(nil), webhookEvents...), Options: webhookEvents},

		{Key: "update_integrity_enabled", Group: "updates", Kind: Bool, Default: false},
		{Key: "require_signed_releases", Group: "updates", Kind: Bool, Default: false},

		{Key: "activity_log_retention_days", Group: "retention", Kind: Int, Default: 365, Min: 1, Max: 36500},
		{Key: "download_log_retention_days", Group: "retention", Kind: Int, Default: 365, Min: 1, Max: 36500},
		{Key: "login_history_retention_days", Group: "retention", Kind: Int, Default: 180, Min: 1, Max: 36500},
		{Key: "failed_attempt_retention_days", Group: "retention", Kind: Int, Default: 90, Min: 1, Max: 36500},
		{Key: "webhook_delivery_retention_days", Group: "retention", Kind: Int, Default: 30, Min: 1, Max: 36500},
		{Key: "mail_outbox_retention_days", Group: "retention", Kind: Int, Default: 30, Min: 1, Max: 36500},
		{Key: "finished_jobs_retention_days", Group: "retention", Kind: Int, Default: 7, Min: 1, Max: 36500},

		{Key: "legacy_license_cipher", Group: "migration", Kind: Enum, Default: "aes-128-cbc", Options: []string{"aes-128-cbc", "aes-256-cbc", "aes-128-gcm", "aes-256-gcm"}},
		{Key: "legacy_license_key", Group: "migration", Kind: String, Default: "", MaxLen: 255, check: checkLegacyKey},
		{Key: "legacy_encryption_key", Group: "migration", Kind: String, Default: "", MaxLen: 255},
	}
}
