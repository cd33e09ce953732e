package internalapi

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/apirequest"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/fields"
)

// downloadTokenResponse is the 201 body of api.md §5.6.
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
// (api.md §5.6). version defaults to latest (resolved now), type to main;
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
	params.VersionID = v.ID

	var token string
	var link *downloads.Link
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if token, link, err = downloads.CreateLink(ctx, tx, params, r.Now); err != nil {
			return err
		}
		by := source(r)
		return audit.Record(ctx, tx, audit.Entry{
			Type: "download_link.created", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectVersion, ID: v.ID},
			Message: "Download link for " + p.Name + " " + v.Version + " (" + params.Type + ") created " + by.Actor.Via() + ".",
		})
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
