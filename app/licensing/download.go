package licensing

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
)

// Reasons a download's license check failed (docs/api/external.md#download step 5). They
// are recorded on the download-log row; the client only ever sees an empty
// 401.
const (
	DownloadNoLicense          = "LICENSE_REQUIRED"    // neither token nor code sent
	DownloadTokenInvalid       = "TOKEN_INVALID"       // token not authentic, or of another product
	DownloadActivationInvalid  = "ACTIVATION_INVALID"  // activation missing, failed attempt, or of another product
	DownloadActivationInactive = "LICENSE_DEACTIVATED" // activation no longer holds a slot
	DownloadHostMismatch       = "HOST_MISMATCH"       // caller host differs from the activation's
	DownloadLicenseInvalid     = "LICENSE_INVALID"     // code unknown for this product, or buyer differs
	DownloadBlocked            = "LICENSE_BLOCKED"     // license blocked
	DownloadExpired            = "LICENSE_EXPIRED"     // license expired
	DownloadUpdatesExpired     = "UPDATES_EXPIRED"     // updates_until passed
	DownloadDomainNotAllowed   = "DOMAIN_NOT_ALLOWED"  // licensed domains do not match the caller host
	DownloadIPNotAllowed       = "IP_NOT_ALLOWED"      // licensed IPs do not match the caller IP
	DownloadCodeBlacklisted    = "LICENSE_BLACKLISTED" // license code blacklisted
	DownloadBuyerBlacklisted   = "BUYER_BLACKLISTED"   // buyer name blacklisted
)

// DownloadRequest is what a download was sent to prove a license: an
// authentic Licensor token (HasToken with TokenOK, ActivationID and
// TokenProductRef, checked by the caller before any query), or a license
// code with an optional client name (also a LicenseBox token's values).
type DownloadRequest struct {
	Product *catalog.Product

	HasToken        bool
	TokenOK         bool
	ActivationID    int64
	TokenProductRef string

	LicenseCode string
	ClientName  string
	Caller      Caller
}

// AuthorizeDownload runs the license check of a download when the product
// requires a license for updates (docs/api/external.md#download step 5). It returns the
// license that allows the download, or the reason it is refused (with the
// license when one was found, so the refusal can name it). It writes
// nothing.
func (s *Service) AuthorizeDownload(ctx context.Context, idb bun.IDB, set *settings.Values, req DownloadRequest) (*License, string, error) {
	var l *License
	switch {
	case req.HasToken:
		if !req.TokenOK || !strings.EqualFold(req.TokenProductRef, req.Product.ReferenceID) {
			return nil, DownloadTokenInvalid, nil
		}
		a, err := GetActivation(ctx, idb, req.ActivationID)
		if errors.Is(err, ErrActivationNotFound) {
			return nil, DownloadActivationInvalid, nil
		}
		if err != nil {
			return nil, "", err
		}
		if a.ProductID != req.Product.ID || !a.IsValid || a.LicenseID == nil {
			return nil, DownloadActivationInvalid, nil
		}
		if l, err = Get(ctx, idb, *a.LicenseID); errors.Is(err, ErrNotFound) {
			return nil, DownloadActivationInvalid, nil
		} else if err != nil {
			return nil, "", err
		}
		if !a.IsActive {
			return l, DownloadActivationInactive, nil
		}
		if !sameOptional(a.Domain, req.Caller.Host) {
			return l, DownloadHostMismatch, nil
		}
		if req.ClientName == "" && a.ClientName != nil {
			req.ClientName = *a.ClientName
		}
	case strings.TrimSpace(req.LicenseCode) != "":
		if BlacklistMatch(set.BlacklistedLicenseCodes, strings.TrimSpace(req.LicenseCode)) {
			return nil, DownloadCodeBlacklisted, nil
		}
		var f *Failure
		var err error
		l, f, err = codeLicense(ctx, idb, req.Product, strings.TrimSpace(req.LicenseCode), req.ClientName)
		if err != nil {
			return nil, "", err
		}
		if f != nil {
			return nil, DownloadLicenseInvalid, nil
		}
		// A license issued to a customer needs that customer's name.
		if l.CustomerID != nil && strings.TrimSpace(*l.CustomerID) != "" && strings.TrimSpace(req.ClientName) == "" {
			return l, DownloadLicenseInvalid, nil
		}
		// codeLicense reads the row without the derived values.
		if l, err = Get(ctx, idb, l.ID); err != nil {
			return nil, "", err
		}
	default:
		return nil, DownloadNoLicense, nil
	}
	return l, s.downloadLicenseReason(set, l, req), nil
}

// downloadLicenseReason is the license part of docs/api/external.md#download step 5, "" when the
// license allows the download.
func (s *Service) downloadLicenseReason(set *settings.Values, l *License, req DownloadRequest) string {
	now := s.now()
	buyer := strings.TrimSpace(req.ClientName)
	if buyer == "" && l.CustomerID != nil {
		buyer = strings.TrimSpace(*l.CustomerID)
	}
	switch {
	case !l.IsValid:
		return DownloadBlocked
	case l.Expired(now):
		return DownloadExpired
	case l.UpdatesUntil != nil && !l.UpdatesUntil.After(now):
		return DownloadUpdatesExpired
	case len(l.Domains) > 0 && !DomainMatches(l.Domains, req.Caller.Host):
		return DownloadDomainNotAllowed
	case len(l.IPs) > 0 && !IPMatches(l.IPs, req.Caller.IP):
		return DownloadIPNotAllowed
	case BlacklistMatch(set.BlacklistedLicenseCodes, l.LicenseCode):
		return DownloadCodeBlacklisted
	case buyer != "" && BlacklistMatch(set.BlacklistedBuyerNames, buyer):
		return DownloadBuyerBlacklisted
	}
	return ""
}
