package settings

import "time"

// Values is one consistent snapshot of every run-time setting
// (docs/configuration.md#run-time-settings), typed, with defaults for keys
// never stored. A snapshot is shared between goroutines: treat it as read-only.
type Values struct {
	// general
	AppName         string `setting:"app_name"`
	Timezone        string `setting:"timezone"`
	MailFromAddress string `setting:"mail_from_address"`
	MailFromName    string `setting:"mail_from_name"`

	// licenses
	LicenseCodeFormat            string `setting:"license_code_format"`
	LicenseCodeCustomFormat      string `setting:"license_code_custom_format"`
	LicenseCodeRandomLength      int    `setting:"license_code_random_length"`
	LicenseCodeCase              string `setting:"license_code_case_insensitive"`
	ProductUniqueIDFormat        string `setting:"product_unique_id_format"`
	ProductVersionUniqueIDFormat string `setting:"product_version_unique_id_format"`

	// activation
	AddEntriesForFailedActivationAttempts      bool `setting:"add_entries_for_failed_activation_attempts"`
	AddEntriesForFailedUpdateDownloadAttempts  bool `setting:"add_entries_for_failed_update_download_attempts"`
	DeactivateOldActivationsOnNewActivation    bool `setting:"deactivate_old_activations_on_new_activation"`
	AddDomainOfFirstActivationAsLicensedDomain bool `setting:"add_domain_of_first_activation_as_licensed_domain"`
	NormalizeDomainVariants                    bool `setting:"normalize_domain_variants"`
	VerifyLicenseIP                            bool `setting:"verify_license_ip"`
	OfflineLicenseValidityDays                 int  `setting:"offline_license_validity_days"`

	// api
	RequestsRateLimitingMethod string `setting:"requests_rate_limiting_method"`
	RequestsRateLimitingPeriod int    `setting:"requests_rate_limiting_period"`
	SignAPIResponses           bool   `setting:"sign_api_responses"`

	// blacklists
	BlacklistedIPs                     []string `setting:"blacklisted_ips"`
	BlacklistedDomains                 []string `setting:"blacklisted_domains"`
	BlacklistedBuyerNames              []string `setting:"blacklisted_buyer_names"`
	BlacklistedLicenseCodes            []string `setting:"blacklisted_license_codes"`
	BlacklistDomainAfterFailedAttempts int      `setting:"blacklist_domain_after_failed_attempts"`
	BlacklistIPAfterFailedAttempts     int      `setting:"blacklist_ip_after_failed_attempts"`
	AutoBlacklistWindowDays            int      `setting:"auto_blacklist_window_days"`

	// emails
	SendExpirationWarnings bool   `setting:"send_expiration_warnings"`
	ExpirationWarningDays  []int  `setting:"expiration_warning_days"`
	ExpiryScanTime         string `setting:"expiry_scan_time"`
	SendWelcomeEmail       bool   `setting:"send_welcome_email"`
	NewDeviceAlerts        bool   `setting:"new_device_alerts"`

	// portal
	EnablePublicVerification  bool     `setting:"enable_public_verification"`
	CustomerPageLicenses      bool     `setting:"customer_page_licenses"`
	CustomerPageActivations   bool     `setting:"customer_page_activations"`
	AllowCustomerDeactivation bool     `setting:"allow_customer_deactivation"`
	GetMoreLicensesURL        string   `setting:"get_more_licenses_url"`
	RegistrationEnabled       bool     `setting:"registration_enabled"`
	EmailVerificationRequired bool     `setting:"email_verification_required"`
	CaptchaProvider           string   `setting:"captcha_provider"`
	CaptchaForms              []string `setting:"captcha_forms"`
	PasswordMinLength         int      `setting:"password_min_length"`
	LoginMaxAttempts          int      `setting:"login_max_attempts"`
	LoginLockoutMinutes       int      `setting:"login_lockout_minutes"`
	CustomerSessionLifetime   int      `setting:"customer_session_lifetime"`
	CustomerSessionAbsolute   int      `setting:"customer_session_absolute_lifetime"`
	AllowCustomer2FA          bool     `setting:"allow_customer_2fa"`
	AdminSessionLifetime      int      `setting:"admin_session_lifetime"`
	AdminSessionAbsolute      int      `setting:"admin_session_absolute_lifetime"`
	RequireAdmin2FA           bool     `setting:"require_admin_2fa"`

	// webhooks
	EnableWebhooks bool     `setting:"enable_webhooks"`
	WebhookURL     string   `setting:"webhook_url"`
	WebhookSecret  string   `setting:"webhook_secret"`
	WebhookEvents  []string `setting:"webhook_events"`
	// WebhookAllowedNetworks: private ranges a delivery may reach (docs/deploy.md#webhook-destinations).
	WebhookAllowedNetworks []string `setting:"webhook_allowed_networks"`

	// updates
	UpdateIntegrityEnabled bool `setting:"update_integrity_enabled"`
	RequireSignedReleases  bool `setting:"require_signed_releases"`

	// retention
	ActivityLogRetentionDays     int `setting:"activity_log_retention_days"`
	DownloadLogRetentionDays     int `setting:"download_log_retention_days"`
	LoginHistoryRetentionDays    int `setting:"login_history_retention_days"`
	FailedAttemptRetentionDays   int `setting:"failed_attempt_retention_days"`
	WebhookDeliveryRetentionDays int `setting:"webhook_delivery_retention_days"`
	MailOutboxRetentionDays      int `setting:"mail_outbox_retention_days"`
	FinishedJobsRetentionDays    int `setting:"finished_jobs_retention_days"`

	// migration
	LegacyLicenseCipher string `setting:"legacy_license_cipher"`
	LegacyLicenseKey    string `setting:"legacy_license_key"`
	LegacyEncryptionKey string `setting:"legacy_encryption_key"`

	location *time.Location
}

// Location is the time zone of the timezone setting (UTC if it cannot be
// loaded, which validation prevents).
func (v *Values) Location() *time.Location {
	if v.location == nil {
		return time.UTC
	}
	return v.location
}

// SenderName is the name emails are sent from: mail_from_name, else app_name.
func (v *Values) SenderName() string {
	if v.MailFromName != "" {
		return v.MailFromName
	}
	return v.AppName
}

// SenderAddress is the address emails are sent from: mail_from_address,
// else no-reply@ the host of the configured base URL.
func (v *Values) SenderAddress(baseURLHost string) string {
	if v.MailFromAddress != "" {
		return v.MailFromAddress
	}
	return "no-reply@" + baseURLHost
}

// WebhookEventEnabled reports whether event is to be sent at all.
func (v *Values) WebhookEventEnabled(event string) bool {
	if !v.EnableWebhooks || v.WebhookURL == "" {
		return false
	}
	for _, e := range v.WebhookEvents {
		if e == event {
			return true
		}
	}
	return false
}
