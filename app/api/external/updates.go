package external

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/resources"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// currentVersionMax bounds update/check's current_version (docs/api/external.md#update-check).
const currentVersionMax = 50

// updateCheckResponse is docs/api/external.md#update-check, key for key. The
// release-integrity keys are omitted when unknown
// (docs/api/conventions.md#responses).
type updateCheckResponse struct {
	Status          bool                      `json:"status"`
	IsActive        bool                      `json:"is_active"`
	Message         string                    `json:"message"`
	UpdateAvailable bool                      `json:"update_available"`
	Version         *string                   `json:"version"`
	ReleaseDate     string                    `json:"release_date,omitempty"`
	ReleasedAt      string                    `json:"released_at,omitempty"`
	Summary         *string                   `json:"summary,omitempty"`
	Changelog       *string                   `json:"changelog,omitempty"`
	UpdateID        string                    `json:"update_id,omitempty"`
	HasSQL          *bool                     `json:"has_sql,omitempty"`
	FileSize        *int64                    `json:"file_size,omitempty"`
	Checksum        *resources.Checksum       `json:"checksum,omitempty"`
	Signature       *signing.ReleaseSignature `json:"signature,omitempty"`
}

// latestResponse is docs/api/external.md#latest-version: top-level keys for
// LicenseBox-era clients, data for current ones.
type latestResponse struct {
	Status        bool        `json:"status"`
	IsActive      bool        `json:"is_active"`
	Message       string      `json:"message"`
	ProductName   string      `json:"product_name"`
	LatestVersion string      `json:"latest_version"`
	ReleaseDate   string      `json:"release_date"`
	Summary       *string     `json:"summary"`
	Data          *latestData `json:"data"`
}

type latestData struct {
	ID          string                    `json:"id"`
	UpdateID    string                    `json:"update_id"`
	VersionID   string                    `json:"version_id"`
	ProductID   string                    `json:"product_id"`
	Version     string                    `json:"version"`
	ReleasedAt  string                    `json:"released_at"`
	ReleaseDate string                    `json:"release_date"`
	Summary     *string                   `json:"summary"`
	Changelog   *string                   `json:"changelog"`
	HasSQL      bool                      `json:"has_sql"`
	FileSize    *int64                    `json:"file_size,omitempty"`
	Checksum    *resources.Checksum       `json:"checksum,omitempty"`
	Signature   *signing.ReleaseSignature `json:"signature,omitempty"`
}

// integrity is what an update answer says about a version's main file:
// its size and SHA-256 when stored, and its signature when release
// signing is on and a trusted key signed it.
type integrity struct {
	size      *int64
	checksum  *resources.Checksum
	signature *signing.ReleaseSignature
}

func (h *handlers) integrityOf(c fiber.Ctx, set *settings.Values, v *catalog.Version) (integrity, error) {
	var out integrity
	if f := v.File(catalog.FileMain); f != nil && f.Checked() {
		size := f.Size
		out.size = &size
		out.checksum = &resources.Checksum{Algo: "sha256", Value: f.SHA256}
	}
	sig, err := releasekeys.ForUpdate(c.Context(), h.reader(), set, v.ID)
	out.signature = sig
	return out, err
}

// updateCheck is docs/api/external.md#update-check No license is needed. On the legacy path
// "no update" is status false with LicenseBox's message: its clients test
// only status, then read version and release_date, which are null here.
func (h *handlers) updateCheck(paths legacy) pipeline.Handler {
	return func(c fiber.Ctx, r *pipeline.Request) error {
		return h.updateCheckOn(c, r, paths)
	}
}

func (h *handlers) updateCheckOn(c fiber.Ctx, r *pipeline.Request, paths legacy) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	productRef, _ := f.String("product_id", apirequest.Required())
	current, _ := f.String("current_version", apirequest.Required(), apirequest.MaxLen(currentVersionMax))
	if err := f.Err(); err != nil {
		return err
	}
	product, err := h.Products.ActiveByRef(c.Context(), productRef)
	if f, ok := productFailure(err); ok {
		return c.JSON(updateCheckResponse{Message: f.Message})
	}
	if err != nil {
		return err
	}
	vs, err := catalog.Versions(c.Context(), h.reader(), product.ID)
	if err != nil {
		return err
	}
	v := catalog.UpdateCandidate(vs, current, product.ServeLatestUpdates)
	switch {
	case v == nil && paths == legacyPaths:
		return c.JSON(updateCheckResponse{Message: "You have the latest version of " + product.Name + "."})
	case v == nil:
		return c.JSON(updateCheckResponse{Status: true, IsActive: true, Message: "You are using the latest version."})
	}
	in, err := h.integrityOf(c, r.Settings, v)
	if err != nil {
		return err
	}
	day := v.ReleasedAt.In(r.Settings.Location()).Format("2006-01-02")
	hasSQL := v.File(catalog.FileSQL) != nil
	return c.JSON(updateCheckResponse{
		Status: true, IsActive: true, Message: "A new update is available.", UpdateAvailable: true,
		Version: &v.Version, ReleaseDate: day, ReleasedAt: day, Summary: orEmpty(v.Summary), Changelog: orEmpty(v.Changelog),
		UpdateID: v.VersionID, HasSQL: &hasSQL, FileSize: in.size, Checksum: in.checksum, Signature: in.signature,
	})
}

// latestVersion is docs/api/external.md#latest-version; on the legacy path its 404s are 200s.
func (h *handlers) latestVersion(paths legacy) pipeline.Handler {
	return func(c fiber.Ctx, r *pipeline.Request) error {
		return h.latestVersionOn(c, r, paths)
	}
}

func (h *handlers) latestVersionOn(c fiber.Ctx, r *pipeline.Request, paths legacy) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	productRef, _ := f.String("product_id", apirequest.Required())
	if err := f.Err(); err != nil {
		return err
	}
	product, err := h.Products.ActiveByRef(c.Context(), productRef)
	if f, ok := productFailure(err); ok {
		return c.Status(paths.status(failureStatus(f))).JSON(messageResponse{Message: f.Message})
	}
	if err != nil {
		return err
	}
	vs, err := catalog.Versions(c.Context(), h.reader(), product.ID)
	if err != nil {
		return err
	}
	v := catalog.UpdateCandidate(vs, "", true)
	if v == nil {
		return c.Status(paths.status(fiber.StatusNotFound)).JSON(messageResponse{Message: "Latest version not found."})
	}
	in, err := h.integrityOf(c, r.Settings, v)
	if err != nil {
		return err
	}
	day := v.ReleasedAt.In(r.Settings.Location()).Format("2006-01-02")
	return c.JSON(latestResponse{
		Status: true, IsActive: true, Message: "Latest version found.", ProductName: product.Name,
		LatestVersion: v.Version, ReleaseDate: day, Summary: v.Summary,
		Data: &latestData{
			ID: v.VersionID, UpdateID: v.VersionID, VersionID: v.VersionID, ProductID: product.ReferenceID, Version: v.Version,
			ReleasedAt: day, ReleaseDate: day, Summary: v.Summary, Changelog: v.Changelog, HasSQL: v.File(catalog.FileSQL) != nil,
			FileSize: in.size, Checksum: in.checksum, Signature: in.signature,
		},
	})
}

// orEmpty keeps summary and changelog present (as "") on update/check:
// clients print them.
func orEmpty(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}
