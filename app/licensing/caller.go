package licensing

import "github.com/licensor/licensor/app/audit"

// Caller is the installation calling the external API, as the request pipeline
// resolved it (docs/api/authentication.md#headers,
// docs/api/authentication.md#hosts-and-ips).
type Caller struct {
	// IP is the caller IP in canonical text form (X-API-IP, else the peer).
	IP string
	// Peer is the connection's own address (the client IP through
	// http.trusted_proxies, never X-API-IP), what the auto-blacklist counts.
	Peer string
	// Host is the normalised host of the caller URL, "" when none was sent.
	Host string
	// URL is the stored form of the caller URL (scheme, host and path, no
	// query, trailing "/public" and "/" removed), "" when none was sent.
	URL string
	// UserAgent is the User-Agent header.
	UserAgent string
	// Key is the API key making the call, the actor of the activity log.
	Key audit.Actor
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
