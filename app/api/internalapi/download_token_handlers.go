package internalapi

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/fields"
)

// downloadTokenResponse is the 201 body of docs/api/internal.md#downloads.
type downloadTokenResponse struct {
	Error  bool              `json:"error"`
	Status bool              `json:"status"`
	Data   downloadTokenData `json:"data"`
}

type downloadTokenData struct {
	Token              string  `json:"token"`
	URL                string  `json:"url"`
	ProductReferenceID string  `json:"product_reference_id"`
	Version            string  `json:"version"`
	Type               string  `json:"type"`
	MaxDownloads       *int    `json:"max_downloads"`
	ExpiresAt          *string `json:"expires_at"`
}

// createDownloadToken: POST /api/internal/products/{product}/download-tokens
// (docs/api/internal.md#downloads). version defaults to latest (resolved now), type to main;
// max_downloads absent is unlimited, expires_at absent is never. The token
// is stored hashed and shown only in this answer.
func (h *handlers) createDownloadToken(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	versionRef, _ := f.String("version")
	typ, _ := f.String("type")
	params := downloads.LinkParams{ProductID: p.ID, Type: strings.ToLower(typ)}
	if params.Type == "" {
		params.Type = catalog.FileMain
	}
	if n, ok := f.Int("max_downloads", apirequest.Min(1)); ok {
		params.MaxDownloads = &n
	}
	if t, ok := f.Date("expires_at", r.Settings.Location(), apirequest.After(r.Now)); ok {
		params.ExpiresAt = &t
	}
	if err := f.Err(); err != nil {
		return err
	}
	var v *catalog.Version
	if versionRef == "" || strings.EqualFold(versionRef, "latest") {
		if v, err = catalog.NewestVersion(c.Context(), h.db, p.ID); err != nil {
			return err
		}
		if v == nil {
			return &notFoundError{message: msgVersionNotFound}
		}
	} else if v, err = resolveVersion(c.Context(), h.db, p, versionRef); err != nil {
		return err
	}
	if v.File(params.Type) == nil {
		return fields.New("type", fields.Selected("type"))
	}
	params.VersionID, params.ProductName, params.Version = v.ID, p.Name, v.Version

	var token string
	var link *downloads.Link
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		token, link, err = downloads.CreateLink(ctx, tx, source(r), params, r.Now)
		return err
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(downloadTokenResponse{Status: true, Data: downloadTokenData{
		Token: token, URL: strings.TrimSuffix(h.baseURL, "/") + "/api/download/" + token,
		ProductReferenceID: p.ReferenceID, Version: v.Version, Type: link.Type,
		MaxDownloads: link.MaxDownloads, ExpiresAt: pipeline.TimestampOrNull(link.ExpiresAt),
	}})
}

// documentDownloadTokens adds createDownloadToken to the OpenAPI document.
func documentDownloadTokens(docs *openapi.Registry) {
	str := openapi.String
	file := openapi.Response{Description: "The file, streamed, with the headers of the update download; Range gives 206 (416 past the end).",
		ContentType: "application/octet-stream", Schema: openapi.Schema{"type": "string", "format": "binary"}}
	productParam := openapi.Parameter{Name: "product", In: "path", Required: true, Description: "Reference id (any case), else numeric id."}
	for _, op := range []openapi.Operation{
		{Method: "POST", Path: "/api/internal/products/{product}/download", ID: "serverDownloadLatest", Parameters: []openapi.Parameter{productParam},
			Summary: "Download the newest version's main file (no license, no slot; logged)"},
		{Method: "POST", Path: "/api/internal/products/{product}/versions/{version}/download/{type}", ID: "serverDownload",
			Parameters: []openapi.Parameter{productParam,
				{Name: "version", In: "path", Required: true, Description: "Version id or string, or latest."},
				{Name: "type", In: "path", Required: true, Description: "main, sql, or a plugin's file type."}},
			Summary: "Download a version's file (no license, no slot; logged)"},
	} {
		op.Tags, op.Scope = []string{"Internal: versions"}, "versions:download"
		op.Responses = map[string]openapi.Response{
			"200": file, "206": file,
			"401": {Description: "Invalid API key.", Schema: openapi.Ref("Error")},
			"403": {Description: "Scope missing.", Schema: openapi.Ref("Error")},
			"404": {Description: "Product not found. / Product version not found. / Not found. (no file of that type)", Schema: openapi.Ref("Error")},
			"416": {Description: "Range not satisfiable."},
		}
		docs.Add(op)
	}
	errRef := openapi.Response{Description: "", Schema: openapi.Ref("Error")}
	with := func(d string, r openapi.Response) openapi.Response { r.Description = d; return r }
	docs.Add(openapi.Operation{
		Method: "POST", Path: "/api/internal/products/{product}/download-tokens", ID: "createDownloadToken",
		Summary: "Create a download link for buyers' first download", Tags: []string{"Internal: versions"}, Scope: "versions:download",
		Description: "The token is stored hashed and shown only in this answer; GET /api/download/{token} serves the file.",
		Parameters:  []openapi.Parameter{{Name: "product", In: "path", Required: true, Description: "Reference id (any case), else numeric id."}},
		Body: openapi.Object(map[string]openapi.Schema{
			"version":       str("Version id or string; default latest (resolved now)."),
			"type":          str("File type; default main."),
			"max_downloads": {"type": "integer", "minimum": 1, "description": "Absent: unlimited."},
			"expires_at":    {"type": "string", "description": "A future date; absent: never."},
		}),
		Responses: map[string]openapi.Response{
			"201": {Description: "The link.", Schema: openapi.Object(map[string]openapi.Schema{
				"error": {"type": "boolean", "const": false}, "status": {"type": "boolean", "const": true},
				"data": openapi.Object(map[string]openapi.Schema{
					"token": str("40 URL-safe characters."), "url": str(""), "product_reference_id": str(""), "version": str(""), "type": str(""),
					"max_downloads": openapi.Nullable(openapi.Schema{"type": "integer"}),
					"expires_at":    openapi.Nullable(openapi.Schema{"type": "string", "format": "date-time"}),
				}, "token", "url", "product_reference_id", "version", "type", "max_downloads", "expires_at"),
			}, "error", "status", "data")},
			"400": with("Missing API key or unreadable body.", errRef),
			"401": with("Invalid API key.", errRef),
			"403": with("Scope missing.", errRef),
			"404": with("Product not found. / Product version not found.", errRef),
			"422": {Description: "Field validation failed.", Schema: openapi.Ref("ValidationError")},
			"429": with("Rate limit exceeded.", errRef),
		},
	})
}

// serverDownload: POST /api/internal/products/{product}/download (the
// newest version's main file) and POST
// /api/internal/products/{product}/versions/{version}/download/{type}
// ({version} may be latest): the file with the headers and Range support
// of the update download, for the vendor's servers — no license, no slot,
// logged with source internal (docs/api/internal.md#downloads).
func (h *handlers) serverDownload(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	ref, typ := param(c, "version"), strings.ToLower(param(c, "type"))
	if typ == "" {
		typ = catalog.FileMain
	}
	var v *catalog.Version
	if ref == "" || strings.EqualFold(ref, "latest") {
		if v, err = catalog.NewestVersion(c.Context(), h.db, p.ID); err != nil {
			return err
		}
		if v == nil {
			return &notFoundError{message: msgVersionNotFound}
		}
	} else if v, err = resolveVersion(c.Context(), h.db, p, ref); err != nil {
		return err
	}
	file := v.File(typ)
	if file == nil {
		return pipeline.Error(c, fiber.StatusNotFound, "Not found.")
	}
	if err := filesend.Sized(c.Context(), h.files, file); err != nil {
		return err
	}
	meta := filesend.Meta{File: file, Type: typ, ProductRef: p.ReferenceID, Version: v.Version}
	rng, err := filesend.ParseRange(c.Get(fiber.HeaderRange), file.Size)
	if errors.Is(err, filesend.ErrUnsatisfiable) {
		return filesend.Unsatisfiable(c, file.Size)
	}
	if rng.Start == 0 {
		if _, err := downloads.Record(c.Context(), h.db, downloads.Attempt{
			Source: downloads.SourceInternal, ProductID: p.ID, VersionID: v.ID, Version: v.Version, Type: typ,
			URL: r.Caller.URL, Domain: r.Caller.Host, IP: r.Caller.IP, UserAgent: r.Caller.UserAgent, Valid: true,
		}); err != nil {
			return err
		}
	}
	return filesend.Send(c, h.files, meta, rng)
}
