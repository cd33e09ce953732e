package settings

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // the timezone setting must validate the same on hosts without zoneinfo

	"github.com/licensor/licensor/app/fields"
)

func checkRequired(f, v string) string {
	if v == "" {
		return fields.Required(f)
	}
	return ""
}

func checkTimezone(f, v string) string {
	if v == "" {
		return fields.Required(f)
	}
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		return fmt.Sprintf("The %s field must be a valid time zone.", fields.Label(f))
	}
	return ""
}

func checkEmail(f, v string) string {
	if v != "" && !fields.IsEmail(v) {
		return fields.Email(f)
	}
	return ""
}

func checkClock(f, v string) string {
	if _, err := time.Parse("15:04", v); err != nil || len(v) != 5 {
		return fmt.Sprintf("The %s field must be a time in HH:MM format.", fields.Label(f))
	}
	return ""
}

func checkURL(f, v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("The %s field must be a valid URL.", fields.Label(f))
	}
	return ""
}

func checkHTTPSURL(f, v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("The %s field must be a valid HTTPS URL.", fields.Label(f))
	}
	return ""
}

func checkNoSpace(f, v string) string {
	if strings.ContainsAny(v, " \t") {
		return fields.Format(f)
	}
	return ""
}

// checkCIDR accepts an IP or a CIDR range.
func checkCIDR(f, v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return ""
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return ""
	}
	return fields.IP(f)
}

// checkIPEntry accepts an IP, a CIDR range, or a * pattern (docs/api/authentication.md#blacklists).
func checkIPEntry(f, v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return ""
	}
	if _, _, err := net.ParseCIDR(v); err == nil {
		return ""
	}
	if strings.Contains(v, "*") && strings.Trim(v, "0123456789abcdefABCDEF.:*") == "" {
		return ""
	}
	return fields.IP(f)
}

// checkCodeFormat accepts a custom license-code pattern whose literal
// characters are allowed in codes and which has at least one placeholder,
// so that generated codes can differ and a collision can be retried.
func checkCodeFormat(f, v string) string {
	if v == "" {
		return ""
	}
	placeholders := 0
	literal := strings.NewReplacer("%X", "", "%Y", "", "%Z", "").Replace(v)
	for _, p := range []string{"%X", "%Y", "%Z"} {
		placeholders += strings.Count(v, p)
	}
	if placeholders == 0 || (literal != "" && !fields.IsIdentifier(literal)) {
		return fmt.Sprintf("The %s field format is invalid: use %%X (digit), %%Y (letter), %%Z (either) and the characters A-Z, a-z, 0-9, '.', '_', '-'.", fields.Label(f))
	}
	return ""
}

func checkCaptchaProvider(f, v string) string {
	switch v {
	case "none", "math", "image":
		return ""
	}
	if name, ok := strings.CutPrefix(v, "plugin:"); ok && name != "" && fields.IsIdentifier(name) {
		return ""
	}
	return fields.Selected(f)
}

// legacyKeyBytes is the key length the legacy_license_key value gives:
// "base64:…" decodes, anything else is used as raw bytes.
func legacyKeyBytes(v string) (int, bool) {
	if b64, ok := strings.CutPrefix(v, "base64:"); ok {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return 0, false
		}
		return len(raw), true
	}
	return len(v), true
}

func checkLegacyKey(f, v string) string {
	if v == "" {
		return ""
	}
	if n, ok := legacyKeyBytes(v); !ok || (n != 16 && n != 32) {
		return fmt.Sprintf("The %s field must be 16 or 32 bytes, raw or as base64:….", fields.Label(f))
	}
	return ""
}
