package internalapi_test

import (
	"slices"
	"strings"
	"testing"
)

func TestVersionsListAndRead(t *testing.T) {
	a := newAPI(t)
	withProduct(t, a, nil)
	a.exec(`INSERT INTO product_versions (id, product_id, version_id, version, released_at, summary, is_active) VALUES
		(1, 1, '01HV-A', '1.2.0', '2024-01-15 00:00:00+00', 'Bug fixes', true),
		(2, 1, '01HV-B', '1.10.0', '2024-03-01 00:00:00+00', NULL, false),
		(3, 1, '01HV-C', 'v1.9.0', '2024-02-01 00:00:00+00', NULL, true)`)
	a.exec(`INSERT INTO version_files (version_id, type, file_name, storage_key, sha256, size) VALUES
		(1, 'main', 'acme-1.2.0.zip', repeat('ab', 32), repeat('ab', 32), 300000),
		(2, 'main', 'acme-1.10.0.zip', repeat('cd', 32), repeat('cd', 32), 10),
		(2, 'sql', 'update.sql', repeat('ef', 32), repeat('ef', 32), 5)`)

	r := a.get("/api/internal/products/acme/versions")
	items, _ := list(t, r)
	if got := field(items, "version"); !slices.Equal(got, []string{"1.10.0", "v1.9.0", "1.2.0"}) {
		t.Fatalf("newest first by version number: %v", got)
	}
	if _, paged := wantStatus(t, r, 200)["links"]; paged {
		t.Fatal("versions are not paginated")
	}

	r = a.get("/api/internal/products/ACME/versions/01hv-a")
	wantBody := `{"data":{"version_id":"01HV-A","product_reference_id":"ACME","version":"1.2.0","released_at":"2024-01-15T00:00:00.000000Z",` +
		`"summary":"Bug fixes","changelog":null,"main_file":"acme-1.2.0.zip","sql_file":null,"is_active":true,"has_sql":false,` +
		`"file_size":300000,"checksum":{"algo":"sha256","value":"` + strings.Repeat("ab", 32) + `"},` +
		`"created_at":"` + data(t, r, 200)["created_at"].(string) + `","updated_at":"` + data(t, r, 200)["updated_at"].(string) + `"}}`
	want(t, r, 200, wantBody)
	if d := data(t, a.get("/api/internal/products/1/versions/1.10.0"), 200); d["version_id"] != "01HV-B" || d["has_sql"] != true {
		t.Fatal(d)
	}
	want(t, a.get("/api/internal/products/ACME/versions/9.9.9"), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)
	want(t, a.get("/api/internal/products/NOPE/versions/1.2.0"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	want(t, a.get("/api/internal/products/NOPE/versions"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
}
