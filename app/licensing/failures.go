package licensing

import "strings"

// Failure is a business failure of the external API: HTTP 200 (unless the
// endpoint says otherwise) with status false, this message and this
// status_code. The strings are the contract of api.md §4 and are matched by
// deployed clients (the Botble CMS check keys on some of them): never
// reword them.
type Failure struct {
	Message    string
	StatusCode string
}

// status_code values.
const (
	CodeProductNotFound    = "PRODUCT_NOT_FOUND"
	CodeLicenseInvalid     = "LICENSE_INVALID"
	CodeLicenseBlocked     = "LICENSE_BLOCKED"
	CodeLicenseExpired     = "LICENSE_EXPIRED"
	CodeUsesExhausted      = "LICENSE_USES_EXHAUSTED"
	CodeParallelExhausted  = "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES"
	CodeDomainNotAllowed   = "DOMAIN_NOT_ALLOWED"
	CodeIPNotAllowed       = "IP_NOT_ALLOWED"
	CodeLicenseDeactivated = "LICENSE_DEACTIVATED"
)

// Failures shared by several endpoints.
var (
	// FailProductNotFound: product missing or inactive (activate: HTTP 404;
	// license check: 404; verify and deactivate: 200).
	FailProductNotFound = Failure{"Product not found.", CodeProductNotFound}
	// FailDataRequired: verify or deactivate with neither token nor code.
	FailDataRequired = Failure{"License data is required.", CodeLicenseInvalid}
	FailBlocked      = Failure{"Your license is blocked.", CodeLicenseBlocked}
	FailExpired      = Failure{"Your license has expired.", CodeLicenseExpired}
)

// Activation failures (§4.3 step 5, rows a–g), in check order.
var (
	FailActivateInvalid   = Failure{"Your license code is invalid.", CodeLicenseInvalid}
	FailUsesExhausted     = Failure{"Your license has reached the maximum number of uses.", CodeUsesExhausted}
	FailParallelExhausted = Failure{"Your license has reached the maximum number of parallel uses.", CodeParallelExhausted}
	FailIPNotAllowed      = Failure{"Your license is not valid for this IP.", CodeIPNotAllowed}
)

// FailDomainNotAllowed lists the licensed domains as stored.
func FailDomainNotAllowed(domains []string) Failure {
	return Failure{"This license can only be used for the following domain(s): " + strings.Join(domains, ", ") + ".", CodeDomainNotAllowed}
}

// Marketplace failures of activate's step 4 (§4.3): the order sync plugin
// serving the verify_type could not be asked (HTTP 503), or has no
// mapping for the product (HTTP 400). A refused code is FailActivateInvalid.
var FailMarketplaceUnavailable = Failure{"The license could not be checked with the marketplace. Please try again later.", CodeLicenseInvalid}

// FailMarketplaceNotConfigured names the marketplace ("Gumroad").
func FailMarketplaceNotConfigured(marketplace string) Failure {
	return Failure{"This product is not configured for " + marketplace + " verification.", CodeLicenseInvalid}
}

// Verification and deactivation failures (§4.4, §4.5).
var (
	FailVerifyInvalid = Failure{"License is invalid or not assigned to you.", CodeLicenseInvalid}
	FailDeactivated   = Failure{"License is invalid or not assigned to you.", CodeLicenseDeactivated}
)

// FailCheckInvalid: license check found no license (§4.6, HTTP 400).
var FailCheckInvalid = Failure{"License is invalid.", CodeLicenseInvalid}

// Messages the handlers answer with on success.
const (
	MessageActivated   = "Activated."
	MessageVerified    = "Verified."
	MessageDeactivated = "Deactivated."
	// MessageActivateError answers an unexpected error of activate (500).
	MessageActivateError = "Could not activate the license. Please contact the support team."
)

// failed returns a copy of f to hand out, so no caller can alter the
// package's values through the pointer.
func failed(f Failure) *Failure { return &f }
