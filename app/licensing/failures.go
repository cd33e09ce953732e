package licensing

import "strings"

// Failure is a business failure of the external API: HTTP 200 (unless the
// endpoint says otherwise) with status false, this message and this
// status_code. The strings are the contract of docs/api/external.md and are matched by
// deployed clients (the Botble CMS check keys on some of them): never
// reword them.
type Failure struct {
	Message    string
	StatusCode string
	// Kind is how the failure is answered beyond its message and
	// status_code; the external API maps it to an HTTP status once.
	Kind FailureKind
}

// FailureKind says why an operation failed, as far as the answer's HTTP
// status depends on it (docs/api/external.md#activate,
// docs/api/external.md#license-check).
type FailureKind int

const (
	// Declined, the zero kind: the license said no (answered 200).
	Declined FailureKind = iota
	// NotFound: the product named does not exist or is inactive (404 where
	// the endpoint says so; verify and deactivate answer it 200).
	NotFound
	// Refused: the request cannot succeed as sent (400): the marketplace
	// refused the code or has no mapping for the product, or the license
	// check found no license.
	Refused
	// Unavailable: a service the answer needs could not be asked (503):
	// the marketplace plugin was down or timed out.
	Unavailable
)

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
	// CodeLicenseInGrace is not a failure: verify answers status true with
	// it while an expired license is in its grace period
	// (docs/api/external.md#grace-period).
	CodeLicenseInGrace = "LICENSE_IN_GRACE"
	// CodeActivationReleased: the activation missed its heartbeat and was
	// released; the client activates again (modern paths only,
	// docs/api/external.md#heartbeat).
	CodeActivationReleased = "ACTIVATION_RELEASED"
	// CodeLicenseNotFloating: check-out of a license that is not floating
	// (docs/api/external.md#check-out-and-check-in).
	CodeLicenseNotFloating = "LICENSE_NOT_FLOATING"
)

// Failures shared by several endpoints.
var (
	// FailProductNotFound: product missing or inactive (activate: HTTP 404;
	// license check: 404; verify and deactivate: 200).
	FailProductNotFound = Failure{"Product not found.", CodeProductNotFound, NotFound}
	// FailDataRequired: verify or deactivate with neither token nor code.
	FailDataRequired = Failure{Message: "License data is required.", StatusCode: CodeLicenseInvalid}
	FailBlocked      = Failure{Message: "Your license is blocked.", StatusCode: CodeLicenseBlocked}
	FailExpired      = Failure{Message: "Your license has expired.", StatusCode: CodeLicenseExpired}
)

// Activation failures (docs/api/external.md#activate step 5, rows a–g), in check order.
var (
	FailActivateInvalid   = Failure{Message: "Your license code is invalid.", StatusCode: CodeLicenseInvalid}
	FailUsesExhausted     = Failure{Message: "Your license has reached the maximum number of uses.", StatusCode: CodeUsesExhausted}
	FailParallelExhausted = Failure{Message: "Your license has reached the maximum number of parallel uses.", StatusCode: CodeParallelExhausted}
	FailIPNotAllowed      = Failure{Message: "Your license is not valid for this IP.", StatusCode: CodeIPNotAllowed}
)

// FailDomainNotAllowed lists the licensed domains as stored.
func FailDomainNotAllowed(domains []string) Failure {
	return Failure{Message: "This license can only be used for the following domain(s): " + strings.Join(domains, ", ") + ".", StatusCode: CodeDomainNotAllowed}
}

// Marketplace failures of activate's step 4 (docs/api/external.md#activate): the order sync plugin
// serving the verify_type could not be asked (HTTP 503), or has no
// mapping for the product (HTTP 400). A refused code is answered with the
// endpoint's own failure as Refused (activate: FailActivateInvalid's words).
var FailMarketplaceUnavailable = Failure{"The license could not be checked with the marketplace. Please try again later.", CodeLicenseInvalid, Unavailable}

// FailMarketplaceNotConfigured names the marketplace ("Gumroad").
func FailMarketplaceNotConfigured(marketplace string) Failure {
	return Failure{"This product is not configured for " + marketplace + " verification.", CodeLicenseInvalid, Refused}
}

// Verification and deactivation failures (docs/api/external.md#verify,
// docs/api/external.md#deactivate).
var (
	FailVerifyInvalid = Failure{Message: "License is invalid or not assigned to you.", StatusCode: CodeLicenseInvalid}
	FailDeactivated   = Failure{Message: "License is invalid or not assigned to you.", StatusCode: CodeLicenseDeactivated}
)

// Heartbeat and floating failures (docs/api/external.md#heartbeat,
// docs/api/external.md#check-out-and-check-in).
var (
	FailReleased    = Failure{Message: "Your activation was released because it missed its heartbeat. Please activate again.", StatusCode: CodeActivationReleased}
	FailNotFloating = Failure{Message: "This license is not a floating license.", StatusCode: CodeLicenseNotFloating}
	// FailSeatsExhausted: every seat of a floating license is checked out.
	FailSeatsExhausted = Failure{Message: "Every seat of this floating license is in use. Please try again once one is checked in.", StatusCode: CodeParallelExhausted}
)

// FailCheckInvalid: license check found no license (docs/api/external.md#license-check, HTTP 400).
var FailCheckInvalid = Failure{"License is invalid.", CodeLicenseInvalid, Refused}

// Messages the handlers answer with on success.
const (
	MessageActivated = "Activated."
	MessageVerified  = "Verified."
	// MessageInGrace answers a verify in the grace period
	// (docs/api/external.md#grace-period).
	MessageInGrace     = "Your license has expired. It keeps working during its grace period; please renew it."
	MessageDeactivated = "Deactivated."
	// MessageHeartbeat answers a heartbeat; MessageCheckedOut and
	// MessageCheckedIn a floating seat's check-out and check-in.
	MessageHeartbeat  = "Heartbeat received."
	MessageCheckedOut = "Seat checked out."
	MessageCheckedIn  = "Seat checked in."
	// MessageActivateError answers an unexpected error of activate (500).
	MessageActivateError = "Could not activate the license. Please contact the support team."
)

// failed returns a copy of f to hand out, so no caller can alter the
// package's values through the pointer.
func failed(f Failure) *Failure { return &f }
