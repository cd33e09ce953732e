package external

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/licensing"
)

// requestedFile is a version file a download or size request names, found
// by steps 2–4 of docs/api/external.md#download.
type requestedFile struct {
	product *catalog.Product
	version *catalog.Version
	meta    filesend.Meta
}

// findFile resolves {version_id} and {type} — from the path, else the
// legacy fields vid (or version_id) and type — to a published version's
// file of an active product, read from idb. Not found is (nil, nil): an
// empty 404.
func (h *handlers) findFile(c fiber.Ctx, idb bun.IDB, f *apirequest.Fields) (*requestedFile, error) {
	versionRef, typ := c.Params("version_id"), c.Params("type")
	if versionRef == "" {
		f.Alias("vid", "version_id")
		versionRef, _ = f.String("vid")
	}
	if typ == "" {
		if typ, _ = f.String("type"); typ == "" {
			typ = catalog.FileMain
		}
	}
	versionRef, typ = strings.TrimSpace(versionRef), strings.ToLower(strings.TrimSpace(typ))
	if versionRef == "" {
		return nil, nil
	}
	v, err := catalog.VersionByVersionID(c.Context(), idb, versionRef)
	if err != nil { // an unknown version is no file (nil, nil)
		return nil, errkind.IgnoreNotFound(err)
	}
	if !v.IsActive {
		return nil, nil
	}
	p, err := catalog.Get(c.Context(), idb, v.ProductID)
	if err != nil {
		return nil, errkind.IgnoreNotFound(err)
	}
	file := v.File(typ)
	if !p.IsActive || file == nil {
		return nil, nil
	}
	if err := filesend.Sized(c.Context(), h.Files, file); err != nil {
		return nil, err
	}
	return &requestedFile{product: p, version: v, meta: filesend.Meta{File: file, Type: typ, ProductRef: p.ReferenceID, Version: v.Version}}, nil
}

// notFound is the empty 404 of the download and size endpoints.
func notFound(c fiber.Ctx) error { return filesend.EmptyStatus(c, fiber.StatusNotFound) }

// download is docs/api/external.md#download (and its LicenseBox paths, which may post
// multipart bodies).
func (h *handlers) download(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	rf, err := h.findFile(c, h.DB, f)
	if err != nil || rf == nil {
		if err != nil {
			return err
		}
		return notFound(c)
	}
	attempt := downloads.Attempt{
		Source: downloads.SourceAPI, ProductID: rf.product.ID, VersionID: rf.version.ID, Version: rf.version.Version,
		Type: rf.meta.Type, URL: r.Caller.URL, Domain: r.Caller.Host, IP: r.Caller.IP, PeerIP: r.Caller.Peer, UserAgent: r.Caller.UserAgent,
	}
	var license *licensing.License
	if rf.product.LicenseUpdate {
		req := h.downloadProof(f, r, rf.product)
		var reason string
		if license, reason, err = h.Licensing.AuthorizeDownload(c.Context(), h.DB, r.Settings, req); err != nil {
			return err
		}
		if license != nil {
			attempt.LicenseID, attempt.LicenseCode = &license.ID, license.LicenseCode
		} else {
			attempt.LicenseCode = req.LicenseCode
		}
		if reason != "" {
			attempt.Reason = reason
			err := h.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
				return downloads.RecordRefused(ctx, tx, attempt, r.Settings.AddEntriesForFailedUpdateDownloadAttempts, rf.product.Name, r.Caller.Key)
			})
			if err != nil {
				return err
			}
			return filesend.EmptyStatus(c, fiber.StatusUnauthorized)
		}
	}

	rng, err := filesend.ParseRange(c.Get(fiber.HeaderRange), rf.meta.File.Size)
	if errors.Is(err, filesend.ErrUnsatisfiable) {
		return filesend.Unsatisfiable(c, rf.meta.File.Size)
	}
	// A request resuming after byte 0 continues a logged download.
	if rng.Start == 0 {
		err := h.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
			var customerID, email *string
			if license != nil {
				customerID, email = license.CustomerID, license.Email
			}
			_, err := downloads.RecordSuccess(ctx, tx, attempt, customerID, email, rf.product.ReferenceID)
			return err
		})
		if err != nil {
			return err
		}
	}
	return filesend.Send(c, h.Files, rf.meta, rng)
}

// downloadProof reads the license a download was sent: a token
// (license_data, or its legacy name license_file) checked before any
// query, else license_code and client_name. A LicenseBox token carries a
// code and client name.
func (h *handlers) downloadProof(f *apirequest.Fields, r *pipeline.Request, p *catalog.Product) licensing.DownloadRequest {
	req := licensing.DownloadRequest{Product: p, Caller: r.Caller}
	field := "license_data"
	if !f.Has(field) {
		field = "license_file"
	}
	token, _ := f.String(field)
	req.LicenseCode, _ = f.String("license_code")
	req.ClientName, _ = f.String("client_name")
	if token == "" {
		return req
	}
	tok := h.tokens.check(token, r.Settings)
	if tok.legacy {
		req.LicenseCode, req.ClientName = tok.licenseCode, tok.clientName
		return req
	}
	req.HasToken, req.TokenOK, req.ActivationID, req.TokenProductRef = true, tok.ok, tok.activationID, tok.productRef
	return req
}

// sizeResponse is the GET/POST answer of docs/api/external.md#size.
type sizeResponse struct {
	Status   bool  `json:"status"`
	IsActive bool  `json:"is_active"`
	Size     int64 `json:"size"`
}

// size is docs/api/external.md#size: no license check, no logging, so
// read from the replicas (the download itself reads the primary: it
// checks the license and logs in the same request).
func (h *handlers) size(c fiber.Ctx, _ *pipeline.Request) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	rf, err := h.findFile(c, h.reader(), f)
	if err != nil || rf == nil {
		if err != nil {
			return err
		}
		return notFound(c)
	}
	size := rf.meta.File.Size
	if c.Method() == fiber.MethodHead {
		c.Set(fiber.HeaderContentType, rf.meta.ContentType())
		c.Set(fiber.HeaderContentDisposition, "attachment; filename="+rf.meta.DownloadName())
		c.Response().Header.SetContentLength(int(size))
		return nil
	}
	c.Set("X-File-Size", strconv.FormatInt(size, 10))
	return c.JSON(sizeResponse{Status: true, IsActive: true, Size: size})
}
