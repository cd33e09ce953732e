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
// and rules. Definitions lists them all in the order of docs/configuration.md#run-time-settings.
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
	// Description explains the setting under its input in the console.
	Description string
	// check validates a string value or list item; it returns the message
	// for field, or "".
	check func(field, value string) string
}

// The webhook events of docs/api/webhooks.md, the default of webhook_events.
var webhookEvents = []string{
	"license.expiring", "license.expired", "license.update_support_expired",
	"license.created", "license.updated", "license.blocked", "license.unblocked", "license.renewed",
	"activation.created", "activation.deactivated", "activation.released", "customer.created",
}

// Definitions returns every setting. The slice is the caller's.
func Definitions() []Definition {
	idFormats := []string{"uuid", "ulid", "hex8", "hex16"}
	return []Definition{
		{Key: "app_name", Group: "general", Kind: String, Default: "Licensor", MaxLen: 100, check: checkRequired, Description: "Name shown in the portal and emails."},
		{Key: "timezone", Group: "general", Kind: String, Default: "UTC", MaxLen: 64, check: checkTimezone, Description: "IANA time zone: the meaning of date-only values, \"today\" and daily job times."},
		{Key: "mail_from_address", Group: "emails", Kind: String, Default: "", MaxLen: 254, check: checkEmail, Description: "Sender address of emails; empty uses no-reply@ the base URL's host."},
		{Key: "mail_from_name", Group: "emails", Kind: String, Default: "", MaxLen: 100, Description: "Sender name of emails; empty uses the app name."},

		{Key: "license_code_format", Group: "licenses", Kind: Enum, Default: "uuid", Options: []string{"uuid", "ulid", "random", "custom"}, Description: "Generator for new license codes."},
		{Key: "license_code_custom_format", Group: "licenses", Kind: String, Default: "", MaxLen: 100, check: checkCodeFormat, Description: "Pattern for the custom format: %X a digit, %Y a letter, %Z either."},
		{Key: "license_code_random_length", Group: "licenses", Kind: Int, Default: 32, Min: 20, Max: 100, Description: "Length of random codes (20–100)."},
		{Key: "license_code_case_insensitive", Group: "licenses", Kind: Enum, Default: "uppercase", Options: []string{"uppercase", "lowercase", "mix"}, Description: "Letter case of generated codes (mix keeps the generator's)."},
		{Key: "product_unique_id_format", Group: "licenses", Kind: Enum, Default: "hex8", Options: idFormats, Description: "Format of generated product reference IDs (upper-cased)."},
		{Key: "product_version_unique_id_format", Group: "licenses", Kind: Enum, Default: "ulid", Options: idFormats, Description: "Format of generated version IDs."},

		{Key: "add_entries_for_failed_activation_attempts", Group: "activation", Kind: Bool, Default: true, Description: "Record failed activation attempts."},
		{Key: "add_entries_for_failed_update_download_attempts", Group: "activation", Kind: Bool, Default: true, Description: "Record refused update downloads."},
		{Key: "deactivate_old_activations_on_new_activation", Group: "activation", Kind: Bool, Default: false, Description: "A full license frees its oldest activation for a new one."},
		{Key: "add_domain_of_first_activation_as_licensed_domain", Group: "activation", Kind: Bool, Default: false, Description: "Lock a license without domains to the domain of its first activation."},
		{Key: "normalize_domain_variants", Group: "activation", Kind: Bool, Default: true, Description: "Treat www.example.com as example.com."},
		{Key: "verify_license_ip", Group: "activation", Kind: Bool, Default: false, Description: "Verification must come from the activation's IP."},
		{Key: "offline_license_validity_days", Group: "activation", Kind: Int, Default: 365, Min: 1, Max: 36500, Description: "Days an offline activation's license file stays valid (or until the license expires, if sooner)."},

		{Key: "requests_rate_limiting_method", Group: "api", Kind: Enum, Default: "ip_address", Options: []string{"ip_address", "api_key", "api_key_ip_address"}, Description: "What an API rate-limit bucket counts by."},
		{Key: "requests_rate_limiting_period", Group: "api", Kind: Int, Default: 3000, Min: 1, Max: 1_000_000, Description: "API requests per minute per bucket."},
		{Key: "sign_api_responses", Group: "api", Kind: Bool, Default: true, Description: "Sign every external API answer (Digest and Licensor-Signature headers, a client's nonce echoed in the body); off for installations whose answers must not change."},

		{Key: "blacklisted_ips", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 100, check: checkIPEntry, Description: "One IP address or CIDR range per line."},
		{Key: "blacklisted_domains", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 253, check: checkNoSpace, Description: "One domain per line."},
		{Key: "blacklisted_buyer_names", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 255, Lines: true, Description: "One buyer name per line."},
		{Key: "blacklisted_license_codes", Group: "blacklists", Kind: List, Default: []string{}, MaxLen: 255, check: checkNoSpace, Description: "One license code per line."},
		{Key: "blacklist_domain_after_failed_attempts", Group: "blacklists", Kind: Int, Default: 0, Min: 0, Max: 1_000_000, Description: "Blacklist a domain after this many failed attempts (0: off)."},
		{Key: "blacklist_ip_after_failed_attempts", Group: "blacklists", Kind: Int, Default: 0, Min: 0, Max: 1_000_000, Description: "Blacklist an IP after this many failed attempts (0: off)."},
		{Key: "auto_blacklist_window_days", Group: "blacklists", Kind: Int, Default: 30, Min: 1, Max: 3650, Description: "Days of failures the auto-blacklist counts."},

		{Key: "send_expiration_warnings", Group: "emails", Kind: Bool, Default: true, Description: "Send expiry warning emails."},
		{Key: "expiration_warning_days", Group: "emails", Kind: IntList, Default: []int{7, 1}, Min: 1, Max: 3650, Description: "Warning thresholds in days, one per line."},
		{Key: "expiry_scan_time", Group: "emails", Kind: String, Default: "01:00", MaxLen: 5, check: checkClock, Description: "Daily expiry scan time (HH:MM)."},
		{Key: "send_welcome_email", Group: "emails", Kind: Bool, Default: true, Description: "Welcome / set-password email for customers not created by themselves."},
		{Key: "new_device_alerts", Group: "emails", Kind: Bool, Default: true, Description: "Email customers when they sign in from a new device."},

		{Key: "enable_public_verification", Group: "portal", Kind: Bool, Default: false, Description: "Public /verify page."},
		{Key: "customer_page_licenses", Group: "portal", Kind: Bool, Default: true, Description: "Show the licenses page in the portal."},
		{Key: "customer_page_activations", Group: "portal", Kind: Bool, Default: true, Description: "Show the activations page in the portal."},
		{Key: "allow_customer_deactivation", Group: "portal", Kind: Bool, Default: true, Description: "Customers may deactivate their activations."},
		{Key: "get_more_licenses_url", Group: "portal", Kind: String, Default: "", MaxLen: 2048, check: checkURL, Description: "Target of the \"Get More Licenses\" button; empty hides it."},
		{Key: "registration_enabled", Group: "portal", Kind: Bool, Default: false, Description: "Portal self-registration."},
		{Key: "email_verification_required", Group: "portal", Kind: Bool, Default: true, Description: "Registered accounts must confirm their email."},
		{Key: "captcha_provider", Group: "captcha", Kind: String, Default: "none", MaxLen: 100, check: checkCaptchaProvider, Description: "Portal CAPTCHA: none, math, image or plugin:<name>."},
		{Key: "captcha_forms", Group: "captcha", Kind: List, Default: []string{"login", "register", "password_forgot"}, Options: []string{"login", "register", "password_forgot"}, Description: "Forms that show the CAPTCHA."},
		{Key: "password_min_length", Group: "portal", Kind: Int, Default: 10, Min: 8, Max: 128, Description: "Minimum password length."},
		{Key: "login_max_attempts", Group: "portal", Kind: Int, Default: 5, Min: 1, Max: 1000, Description: "Failed sign-ins before a lockout."},
		{Key: "login_lockout_minutes", Group: "portal", Kind: Int, Default: 15, Min: 1, Max: 10080, Description: "Length of a sign-in lockout, in minutes."},
		{Key: "customer_session_lifetime", Group: "portal", Kind: Int, Default: 10080, Min: 5, Max: 525600, Description: "Idle lifetime of a portal session, in minutes: a session ends this long after its last request (one not remembered at sign-in after 120 minutes at most)."},
		{Key: "customer_session_absolute_lifetime", Group: "portal", Kind: Int, Default: 43200, Min: 5, Max: 525600, Description: "Absolute lifetime of a portal session, in minutes: it ends this long after sign-in however active it is."},
		{Key: "allow_customer_2fa", Group: "portal", Kind: Bool, Default: true, Description: "Customers may turn on two-factor sign-in (an authenticator app) in their settings."},
		{Key: "admin_session_lifetime", Group: "general", Kind: Int, Default: 720, Min: 5, Max: 525600, Description: "Idle lifetime of a console session, in minutes: it ends this long after its last request."},
		{Key: "admin_session_absolute_lifetime", Group: "general", Kind: Int, Default: 10080, Min: 5, Max: 525600, Description: "Absolute lifetime of a console session, in minutes: it ends this long after sign-in however active it is."},
		{Key: "require_admin_2fa", Group: "general", Kind: Bool, Default: false, Description: "Admins must use two-factor sign-in: those without it are sent to set it up after their password."},

		{Key: "enable_webhooks", Group: "webhooks", Kind: Bool, Default: false, Description: "Send webhooks."},
		{Key: "webhook_url", Group: "webhooks", Kind: String, Default: "", MaxLen: 2048, check: checkHTTPSURL, Description: "HTTPS URL of the receiver."},
		{Key: "webhook_secret", Group: "webhooks", Kind: String, Default: "", MaxLen: 255, Description: "HMAC key; no signature header when empty."},
		{Key: "webhook_allowed_networks", Group: "webhooks", Kind: List, Default: []string{}, MaxLen: 100, check: checkCIDR, Description: "Private, loopback or link-local ranges (CIDR, one per line) webhooks may be delivered to, for a receiver on an internal network; all others are refused."},
		{Key: "webhook_events", Group: "webhooks", Kind: List, Default: append([]string(nil), webhookEvents...), Options: webhookEvents, Description: "Events sent."},

		{Key: "update_integrity_enabled", Group: "updates", Kind: Bool, Default: false, Description: "Signed releases and integrity fields in update answers."},
		{Key: "require_signed_releases", Group: "updates", Kind: Bool, Default: false, Description: "Refuse unsigned version uploads."},

		{Key: "activity_log_retention_days", Group: "retention", Kind: Int, Default: 365, Min: 1, Max: 36500, Description: "Days the activity log is kept."},
		{Key: "download_log_retention_days", Group: "retention", Kind: Int, Default: 365, Min: 1, Max: 36500, Description: "Days the download log is kept."},
		{Key: "login_history_retention_days", Group: "retention", Kind: Int, Default: 180, Min: 1, Max: 36500, Description: "Days sign-in history is kept."},
		{Key: "failed_attempt_retention_days", Group: "retention", Kind: Int, Default: 90, Min: 1, Max: 36500, Description: "Days failed activation rows are kept."},
		{Key: "webhook_delivery_retention_days", Group: "retention", Kind: Int, Default: 30, Min: 1, Max: 36500, Description: "Days webhook deliveries are kept."},
		{Key: "mail_outbox_retention_days", Group: "retention", Kind: Int, Default: 30, Min: 1, Max: 36500, Description: "Days sent mail is kept."},
		{Key: "finished_jobs_retention_days", Group: "retention", Kind: Int, Default: 7, Min: 1, Max: 36500, Description: "Days finished background jobs are kept."},

		{Key: "legacy_license_cipher", Group: "migration", Kind: Enum, Default: "aes-128-cbc", Options: []string{"aes-128-cbc", "aes-256-cbc", "aes-128-gcm", "aes-256-gcm"}, Description: "Cipher of a migrated License Manager installation's tokens."},
		{Key: "legacy_license_key", Group: "migration", Kind: String, Default: "", MaxLen: 255, check: checkLegacyKey, Description: "That installation's token key (base64:…)."},
		{Key: "legacy_encryption_key", Group: "migration", Kind: String, Default: "", MaxLen: 255, Description: "A migrated LicenseBox installation's encryption key."},
	}
}
