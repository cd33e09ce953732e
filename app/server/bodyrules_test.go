package server

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// streamedUpload refuses paths without "version" before its regular
// expression runs (every request with a body asks it): each route that
// streams its upload must still be found, and nothing else.
func TestStreamedUploadFindsEveryUploadRoute(t *testing.T) {
	t.Parallel()
	uploads := []string{
		"/api/internal/products/P1/versions", "/api/internal/products/P1/versions/",
		"/api/internal/products/P1/versions/v-1", "/api/internal/products/P1/versions/v-1/",
		"/api/edit_or_create_version", "/api_internal/edit_or_create_version/",
		"/admin/products/7/versions", "/admin/products/7/versions/3/edit", "/admin/products/7/versions/3/edit/",
	}
	others := []string{
		"/api/external/license/verify", "/api/verify_license", "/api/internal/products/P1",
		"/api/internal/products/P1/versions/v-1/download/main", "/admin/products/7/versions/3",
		"/api/external/update/check", "/customer/settings/avatar", "/api/external/version",
	}
	for _, method := range []string{fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch} {
		for _, path := range uploads {
			if !streamedUpload(method, path) {
				t.Errorf("%s %s: not streamed", method, path)
			}
		}
		for _, path := range others {
			if streamedUpload(method, path) {
				t.Errorf("%s %s: streamed", method, path)
			}
		}
	}
	for _, path := range uploads {
		if streamedUpload(fiber.MethodGet, path) || streamedUpload(fiber.MethodDelete, path) {
			t.Errorf("GET or DELETE %s: streamed", path)
		}
	}
	// The regular expression's every match holds "version", or the
	// substring search would refuse an upload.
	for _, path := range append(uploads, others...) {
		if uploadPaths.MatchString(path) && !strings.Contains(path, "version") {
			t.Errorf("%s: an upload path without \"version\"", path)
		}
	}
}
