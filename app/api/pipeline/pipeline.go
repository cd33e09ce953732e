// Package pipeline is the request pipeline of the keyed API groups
// (docs/api/authentication.md#request-pipeline, steps 2–9): language, API key,
// rate limit, key validity, scope, and the caller's IP and URL with the
// external blacklists. Each route wraps its handler with Guard and a scope; the
// handler receives the resolved Request and reads its fields with ReadFields
// (steps 11–12).
//
// The pipeline runs per route, not as group middleware, so an unknown path
// answers 404 and a wrong method 405 before any key is asked for (step 1).
package pipeline

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// Group is an endpoint group of docs/api/README.md#endpoint-groups with a key.
type Group struct {
	// KeyType is the type of key the group accepts.
	KeyType string
	// Blacklists: caller IPs and hosts are checked against the blacklist
	// settings (external group only, docs/api/authentication.md#blacklists).
	Blacklists bool
}

// The keyed groups.
var (
	External = Group{KeyType: apikeys.TypeExternal, Blacklists: true}
	Internal = Group{KeyType: apikeys.TypeInternal}
)

// Messages of the pipeline's failures (docs/api/conventions.md#error-envelope,
// docs/api/authentication.md#request-pipeline). Clients match them: never
// reword them.
const (
	MessageMissingKey      = "Missing X-API-KEY key in the request."
	MessageInvalidKey      = "Invalid API key."
	MessageScope           = "You are not allowed to access this endpoint."
	MessageInvalidIP       = "The X-API-IP header must be a valid IP address."
	MessageBlacklistedIP   = "Your IP address is blacklisted."
	MessageInvalidURL      = "The X-API-URL header must be a valid URL."
	MessageBlacklistedHost = "Your domain is blacklisted."
	MessageRateLimited     = "Rate limit exceeded. Try again later."
	MessageUnreadableBody  = "The request body could not be read."
	MessageBodyTooLarge    = "The request body is too large."
)

// Headers of docs/api/authentication.md#headers (modern name, legacy alias) and
// docs/api/authentication.md#rate-limiting.
const (
	headerKey, legacyKey   = "X-API-KEY", "LB-API-KEY"
	headerURL, legacyURL   = "X-API-URL", "LB-URL"
	headerIP, legacyIP     = "X-API-IP", "LB-IP"
	headerLang, legacyLang = "X-API-LANGUAGE", "LB-LANG"
	headerNonce            = "X-Licensor-Nonce" // signature.NonceHeader
	headerRateLimitLimit   = "X-RateLimit-Limit"
	headerRateLimitRemain  = "X-RateLimit-Remaining"
	headerRetryAfter       = "Retry-After"
)

const (
	defaultLanguage = "en"
	// Values of setting requests_rate_limiting_method besides ip_address.
	rateLimitMethodKey      = "api_key"
	rateLimitMethodKeyAndIP = "api_key_ip_address"
	// rateLimitBucketPrefix keeps the API's buckets apart from the
	// console's sign-in throttling in the same table.
	rateLimitBucketPrefix = "api:"
)

// Deps are what a pipeline needs; Shared is the node's state common to
// both groups.
type Deps struct {
	Settings *settings.Store
	Shared   *Shared
	// MaxBodyBytes bounds request bodies (config http.max_body_bytes).
	MaxBodyBytes int
	Logger       *slog.Logger
	// Now is the clock; nil: the request's time (web.RequestTime).
	Now func() time.Time
}

// Pipeline guards the routes of one group.
type Pipeline struct {
	group Group
	deps  Deps
}

// New returns the pipeline of group.
func New(group Group, deps Deps) *Pipeline {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{group: group, deps: deps}
}

// Request is what the pipeline resolved for a handler.
type Request struct {
	// Key is the authenticated API key. Shared: do not modify.
	Key *apikeys.Key
	// Caller is the calling installation (docs/api/authentication.md#headers): IP, normalised host,
	// stored URL, user agent, and the key as activity-log actor.
	Caller licensing.Caller
	// Settings is the snapshot the request runs with. Shared: read only.
	Settings *settings.Values
	// Language of messages; always "en" until other languages ship.
	Language string
	// Now is when the request was received.
	Now time.Time
}

// Handler is an endpoint behind the pipeline. The errors it returns from
// ReadFields, from apirequest (*apirequest.Errors) and from domain
// validation (*fields.Error) are answered 413, 400 and 422; any other error
// goes to the app's error handler (500).
type Handler func(c fiber.Ctx, r *Request) error

// Guard returns the route handler that runs steps 2–9 of
// docs/api/authentication.md#request-pipeline for an endpoint needing scope,
// then h. The first failing step answers.
func (p *Pipeline) Guard(scope string, h Handler) fiber.Handler {
	return func(c fiber.Ctx) error {
		hs := readHeaders(c)
		if hs.nonce != "" {
			c.RequestCtx().SetUserValue(nonceKey{}, hs.nonce) // as ClientIPs: no variadic to escape
		}
		r := &Request{Now: p.now(c), Language: language(hs)}

		plain := hs.key.get()
		if plain == "" {
			return Error(c, fiber.StatusBadRequest, MessageMissingKey)
		}
		// Asked for once: each c.Context() is a scan of the request's
		// user values.
		ctx := c.Context()
		key, err := p.deps.Shared.Keys.Lookup(ctx, plain, r.Now)
		if err != nil {
			return err
		}
		if r.Settings, err = p.deps.Settings.Get(ctx); err != nil {
			return err
		}
		usable := key != nil && key.Usable(p.group.KeyType, r.Now)
		if !usable || !key.Special {
			if ok, err := p.limit(ctx, c, r.Settings, key, r.Now); !ok || err != nil {
				return err
			}
		}
		if !usable {
			return Error(c, fiber.StatusUnauthorized, MessageInvalidKey)
		}
		p.deps.Shared.Usage.Used(key, r.Now)
		if p.deps.Shared.Calls != nil {
			p.deps.Shared.Calls.Count(scope, r.Now)
		}
		if !key.HasScope(scope) {
			return Error(c, fiber.StatusForbidden, MessageScope)
		}
		r.Key = key

		peer := canonicalPeer(web.ClientIP(c))
		ip, ok := callerIP(hs, peer)
		if !ok {
			return Error(c, fiber.StatusBadRequest, MessageInvalidIP)
		}
		if p.group.Blacklists && licensing.BlacklistMatchIP(r.Settings.BlacklistedIPs, ip) {
			return Error(c, fiber.StatusForbidden, MessageBlacklistedIP)
		}
		var host, url string
		if raw := hs.url.get(); raw != "" {
			var ok bool
			if host, url, ok = p.deps.Shared.hosts.normalize(raw, r.Settings.NormalizeDomainVariants); !ok {
				return Error(c, fiber.StatusBadRequest, MessageInvalidURL)
			}
			if p.group.Blacklists && licensing.BlacklistMatchDomain(r.Settings.BlacklistedDomains, host, r.Settings.NormalizeDomainVariants) {
				return Error(c, fiber.StatusForbidden, MessageBlacklistedHost)
			}
		}
		r.Caller = licensing.Caller{
			IP: ip, Peer: peer, Host: host, URL: url,
			UserAgent: hs.userAgent,
			Key:       audit.Actor{Type: audit.ActorAPIKey, ID: &key.ID, Name: key.Name},
		}
		return answerError(c, h(c, r))
	}
}

// now is the request's time: the clock's reading when Deps.Now is set.
func (p *Pipeline) now(c fiber.Ctx) time.Time {
	if p.deps.Now != nil {
		return p.deps.Now()
	}
	return web.RequestTime(c)
}

// Public wraps a public endpoint (docs/api/README.md#endpoint-groups) with the rate limit per
// peer IP (docs/api/authentication.md#rate-limiting).
func (p *Pipeline) Public(h fiber.Handler) fiber.Handler {
	return func(c fiber.Ctx) error {
		ctx := c.Context()
		set, err := p.deps.Settings.Get(ctx)
		if err != nil {
			return err
		}
		if ok, err := p.limit(ctx, c, set, nil, p.now(c)); !ok || err != nil {
			return err
		}
		return h(c)
	}
}

// limit counts the request, made at now, in its bucket (ctx: c's)
// (docs/api/authentication.md#rate-limiting) and sets the rate-limit headers.
// It answers 429 itself and returns false when over the limit. A limiter that
// cannot reach the database lets the request through: the limit protects the
// service, and refusing everything would not.
func (p *Pipeline) limit(ctx context.Context, c fiber.Ctx, set *settings.Values, key *apikeys.Key, now time.Time) (bool, error) {
	peer := web.ClientIP(c)
	bucket := rateLimitBucketPrefix + "ip:" + peer
	if key != nil {
		id := strconv.FormatInt(key.ID, 10)
		switch set.RequestsRateLimitingMethod {
		case rateLimitMethodKey:
			bucket = rateLimitBucketPrefix + "key:" + id
		case rateLimitMethodKeyAndIP:
			bucket = rateLimitBucketPrefix + "key:" + id + ":ip:" + peer
		}
	}
	res, err := p.deps.Shared.Limiter.Hit(ctx, bucket, set.RequestsRateLimitingPeriod, now)
	if err != nil {
		p.deps.Logger.WarnContext(ctx, "rate limit unavailable; request let through",
			"error", err, "request_id", web.RequestIDOf(c))
		return true, nil
	}
	c.Set(headerRateLimitLimit, strconv.Itoa(res.Limit))
	c.Set(headerRateLimitRemain, strconv.Itoa(res.Remaining))
	if !res.Allowed {
		secs := int((res.RetryAfter + time.Second - 1) / time.Second)
		c.Set(headerRetryAfter, strconv.Itoa(max(secs, 1)))
		return false, Error(c, fiber.StatusTooManyRequests, MessageRateLimited)
	}
	return true, nil
}

// headers are the request headers of docs/api/authentication.md#headers the
// pipeline reads, found in one pass over the request's headers instead of
// a lookup (a copy and a normalisation of the name, then a scan) per name
// and alias. Values are the request's bytes, as Fiber's c.Get gives them:
// valid until the handler returns.
type headers struct {
	key, url, ip, lang aliased
	userAgent          string
	// nonce is the first X-Licensor-Nonce, for the response signer
	// (HeaderNonce), whose own lookup would scan the headers again.
	nonce     string
	seenNonce bool
}

// aliased is a header's value under its modern name and its legacy alias;
// each is the first occurrence of its name, as a lookup would find it.
type aliased struct {
	modern, legacy         string
	seenModern, seenLegacy bool
}

// get is the modern name's value, else the legacy alias's: empty counts
// as absent.
func (a *aliased) get() string {
	if a.modern != "" {
		return a.modern
	}
	return a.legacy
}

func (a *aliased) setModern(v []byte) {
	if !a.seenModern {
		a.seenModern, a.modern = true, bytesString(v)
	}
}

func (a *aliased) setLegacy(v []byte) {
	if !a.seenLegacy {
		a.seenLegacy, a.legacy = true, bytesString(v)
	}
}

// readHeaders reads the pipeline's headers in one pass. Header names are
// matched without regard to case, as fasthttp's normalised lookup does.
func readHeaders(c fiber.Ctx) headers {
	var hs headers
	h := &c.Request().Header
	hs.userAgent = bytesString(h.UserAgent())
	for k, v := range h.All() {
		if len(k) < 5 || (k[0]|0x20 != 'x' && k[0]|0x20 != 'l') {
			continue
		}
		switch ks := bytesString(k); {
		case strings.EqualFold(ks, headerKey):
			hs.key.setModern(v)
		case strings.EqualFold(ks, legacyKey):
			hs.key.setLegacy(v)
		case strings.EqualFold(ks, headerURL):
			hs.url.setModern(v)
		case strings.EqualFold(ks, legacyURL):
			hs.url.setLegacy(v)
		case strings.EqualFold(ks, headerIP):
			hs.ip.setModern(v)
		case strings.EqualFold(ks, legacyIP):
			hs.ip.setLegacy(v)
		case strings.EqualFold(ks, headerLang):
			hs.lang.setModern(v)
		case strings.EqualFold(ks, legacyLang):
			hs.lang.setLegacy(v)
		case strings.EqualFold(ks, headerNonce):
			if !hs.seenNonce {
				hs.seenNonce, hs.nonce = true, bytesString(v)
			}
		}
	}
	return hs
}

// nonceKey holds the X-Licensor-Nonce a guard read, when not empty.
type nonceKey struct{}

// HeaderNonce is the X-Licensor-Nonce header's value as a lookup of it
// would give it (the first, empty when absent), read by the Guard of c's
// route in its one pass over the headers: for the response signer
// (app/api/signature), which runs around the guard and otherwise scans
// the headers again. Only for routes behind a Guard, once it has run.
func HeaderNonce(c fiber.Ctx) string {
	v, _ := c.Locals(nonceKey{}).(string)
	return v
}

// bytesString is b as a string without a copy, as Fiber's c.Get returns
// header values: only for values read while the request is handled.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// language resolves X-API-LANGUAGE (docs/api/authentication.md#headers).
// Licensor ships English, and an unknown language falls back to it, so every
// request reads "en"; the header is still read here, the one place a
// translation would hook in.
func language(hs headers) string {
	_ = hs.lang.get()
	return defaultLanguage
}

// callerIP is X-API-IP when sent (false when it is not an IP), else the
// peer address (canonicalPeer's), in canonical form.
func callerIP(hs headers, peer string) (string, bool) {
	raw := hs.ip.get()
	if raw == "" {
		return peer, true
	}
	ip, err := licensing.CanonicalIP(raw)
	return ip, err == nil
}

// canonicalPeer is web.ClientIP's address in canonical form. That string
// is the request's own (not the request buffer's) and an IPv4 address in
// it is already canonical, so it is kept as it is: no new string per
// request.
func canonicalPeer(peer string) string {
	if a, err := netip.ParseAddr(peer); err == nil && a.Is4() {
		return peer
	}
	if canon, err := licensing.CanonicalIP(peer); err == nil {
		return canon
	}
	return peer
}
