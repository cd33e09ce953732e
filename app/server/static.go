package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gofiber/fiber/v3"
	fiberstatic "github.com/gofiber/fiber/v3/middleware/static"

	"github.com/licensor/licensor/static"
)

// Cache lifetimes. Versioned URLs (?v=<content hash>, which the asset
// template function writes) and vendor files never change under a URL, so
// browsers may keep them for a year; anything else is rechecked hourly.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=3600"
)

// staticFiles serves static.FS under /static.
func staticFiles() fiber.Handler {
	return fiberstatic.New("", fiberstatic.Config{
		FS:       static.FS,
		Compress: true,
		ModifyResponse: func(c fiber.Ctx) error {
			if strings.HasPrefix(c.Path(), "/static/vendor/") || c.Query("v") != "" {
				c.Set(fiber.HeaderCacheControl, cacheImmutable)
			} else {
				c.Set(fiber.HeaderCacheControl, cacheShort)
			}
			return nil
		},
	})
}

// assetURLs maps a static file ("css/app.css") to its URL with a content
// hash, so a new release's files are fetched despite the year-long cache.
type assetURLs map[string]string

func newAssetURLs() (assetURLs, error) {
	urls := assetURLs{}
	err := fs.WalkDir(static.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static.FS, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		urls[path] = "/static/" + path + "?v=" + hex.EncodeToString(sum[:5])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: hash static files: %w", err)
	}
	return urls, nil
}

// url is the template function "asset". A file missing from the build (for
// example vendor files before `make assets`) still gets a plain URL, so
// the page renders and the browser's 404 shows what is missing.
func (a assetURLs) url(path string) string {
	if u, ok := a[path]; ok {
		return u
	}
	return "/static/" + path
}
