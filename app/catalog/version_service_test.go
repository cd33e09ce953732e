package catalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/storage"
)

var zipBytes = append([]byte("PK\x03\x04"), bytes.Repeat([]byte("zipdata"), 1000)...)

func zipUpload(name string, extra string) *Upload {
	return &Upload{Name: name, Body: bytes.NewReader(append(append([]byte{}, zipBytes...), extra...))}
}

type versionsFixture struct {
	d     *db.DB
	s     *VersionService
	store storage.Store
	dir   string
	p     *Product
	set   *settings.Values
}

func newVersions(t *testing.T) *versionsFixture {
	t.Helper()
	d := dbtest.New(t)
	dir := t.TempDir()
	store, err := storage.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newService().CreateProduct(context.Background(), d.Bun, api, settings.Defaults(),
		ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	s := NewVersionService(d.Bun, store, 1<<20, func() time.Time { return time.Date(2025, 2, 1, 23, 30, 0, 0, time.UTC) })
	return &versionsFixture{d: d, s: s, store: store, dir: dir, p: p, set: settings.Defaults()}
}

// storedFiles counts the files the disk store holds (temporary ones too).
func (f *versionsFixture) storedFiles(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(f.dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantFieldErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	fe, ok := fields.As(err)
	if !ok {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
	if got := fe.Map()[field]; got != msg {
		t.Fatalf("%s: got %q (all: %v), want %q", field, got, fe.Map(), msg)
	}
}

func TestCreateVersionValidation(t *testing.T) {
	t.Parallel()
	f := newVersions(t)
	ctx := context.Background()
	in := func(v string) VersionInput {
		return VersionInput{Version: fields.Some(v), Changelog: fields.Some(strp("First")), MainFile: zipUpload("a.zip", "")}
	}

	_, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{})
	wantFieldErr(t, err, "version", "The version field is required.")
	wantFieldErr(t, err, "main_file", MsgMainRequired)
	wantFieldErr(t, err, "changelog", MsgChangelogReq)

	for _, bad := range []string{"1", "1.2.3.4", "v1.2-", "1.2 beta", "x1.2", "1.2.3-beta!"} {
		_, err := f.s.CreateVersion(ctx, api, f.set, f.p, in(bad))
		wantFieldErr(t, err, "version", "The version field format is invalid.")
	}
	long := strings.Repeat("x", 256)
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0"), Summary: fields.Some(&long), MainFile: zipUpload("a.zip", "")})
	wantFieldErr(t, err, "summary", "The summary field must not be greater than 255 characters.")

	notZip := &Upload{Name: "a.zip", Body: strings.NewReader("just text, named like a zip")}
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0"), Changelog: fields.Some(strp("x")), MainFile: notZip})
	wantFieldErr(t, err, "main_file", MsgMainFileType)
	binSQL := &Upload{Name: "update.sql", Body: bytes.NewReader([]byte("CREATE TABLE x();\x00\x01"))}
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0"), Changelog: fields.Some(strp("x")), MainFile: zipUpload("a.zip", ""), SQLFile: binSQL})
	wantFieldErr(t, err, "sql_file", MsgSQLFileType)
	notSQLName := &Upload{Name: "update.txt", Body: strings.NewReader("CREATE TABLE x();")}
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0"), Changelog: fields.Some(strp("x")), MainFile: zipUpload("a.zip", ""), SQLFile: notSQLName})
	wantFieldErr(t, err, "sql_file", MsgSQLFileType)
	big := &Upload{Name: "big.zip", Body: io.MultiReader(bytes.NewReader(zipBytes), bytes.NewReader(make([]byte, 1<<20)))}
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0"), Changelog: fields.Some(strp("x")), MainFile: big})
	wantFieldErr(t, err, "main_file", "The main file may not be greater than 1048576 bytes.")
	if n := f.storedFiles(t); n != 0 {
		t.Fatalf("refused uploads left %d files", n)
	}

	v, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{
		Version: fields.Some("v1.2.0"), Summary: fields.Some(strp("Bug fixes")),
		Changelog: fields.Some(strp("# Fixes\n\n* one <script>alert(1)</script> [x](javascript:alert(1)) <b onclick=\"x()\">b</b>")),
		MainFile:  zipUpload(`C:\builds\acme-1.2.0.zip`, ""),
		SQLFile:   &Upload{Name: "update.sql", Body: strings.NewReader("ALTER TABLE t ADD c int; -- é\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !VersionPatternOK(v.VersionID) || !v.IsActive || v.Summary == nil || *v.Summary != "Bug fixes" {
		t.Fatalf("%+v", v)
	}
	// Released today in the configured time zone: 2025-02-01 in UTC, the
	// 2nd in Berlin (23:30 UTC is 00:30 there).
	if !v.ReleasedAt.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal(v.ReleasedAt)
	}
	cl := *v.Changelog
	if !strings.Contains(cl, "<h1") || !strings.Contains(cl, "<li>") || strings.Contains(cl, "script") ||
		strings.Contains(cl, "javascript:") || strings.Contains(cl, "onclick") {
		t.Fatalf("changelog not rendered and sanitised: %s", cl)
	}
	main, sql := v.File(FileMain), v.File(FileSQL)
	if main == nil || main.FileName != "acme-1.2.0.zip" || main.Size != int64(len(zipBytes)) || len(main.SHA256) != 64 || main.StorageKey != main.SHA256 {
		t.Fatalf("main %+v", main)
	}
	if sql == nil || sql.FileName != "update.sql" {
		t.Fatalf("sql %+v", sql)
	}
	r, err := f.store.Open(ctx, main.StorageKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	_ = r.Close()
	if !bytes.Equal(got, zipBytes) {
		t.Fatal("stored bytes differ")
	}

	// Unique per product, equal by comparison (docs/api/version-comparison.md)
	// counts as taken, lower is refused.
	for ver, msg := range map[string]string{"1.2.0": "The version has already been taken.", "v1.2.0": "The version has already been taken.",
		"1.1.9": MsgVersionLower, "1.2.0-beta": MsgVersionLower} {
		_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some(ver), MainFile: zipUpload("a.zip", "")})
		wantFieldErr(t, err, "version", msg)
	}
	// The changelog is no longer required; a taken version id is refused.
	_, err = f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.3.0"), VersionID: fields.Some(strings.ToLower(v.VersionID)), MainFile: zipUpload("b.zip", "b")})
	wantFieldErr(t, err, "version_id", "The version id has already been taken.")
	if n := f.storedFiles(t); n != 2 {
		t.Fatalf("the refused upload's file was kept: %d files", n)
	}

	if _, err := settings.Set(ctx, f.d.Bun, api, map[string]string{"timezone": "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	berlin, err := settings.Load(ctx, f.d.Bun)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.s.CreateVersion(ctx, api, berlin, f.p, VersionInput{Version: fields.Some("1.3.0"), VersionID: fields.Some("MY-ID"), MainFile: zipUpload("b.zip", "b")})
	if err != nil {
		t.Fatal(err)
	}
	if w.VersionID != "MY-ID" || !w.ReleasedAt.Equal(time.Date(2025, 2, 1, 23, 0, 0, 0, time.UTC)) {
		t.Fatal(w.VersionID, w.ReleasedAt)
	}
	var logged int
	if err := f.d.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE type = 'version.created' AND message = 'Product Acme CMS version 1.3.0 created via API.'`).Scan(ctx, &logged); err != nil || logged != 1 {
		t.Fatal("activity log", logged, err)
	}
}

// VersionPatternOK: generated version ids are ULIDs by default.
func VersionPatternOK(id string) bool { return len(id) == 26 && strings.ToUpper(id) == id }

func TestUpdatePublishDeleteVersion(t *testing.T) {
	t.Parallel()
	f := newVersions(t)
	ctx := context.Background()
	a, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0.0"), Changelog: fields.Some(strp("x")), MainFile: zipUpload("a.zip", "")})
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes again share the stored file.
	b, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.1.0"), MainFile: zipUpload("b.zip", ""),
		SQLFile: &Upload{Name: "b.sql", Body: strings.NewReader("SELECT 1;")}})
	if err != nil {
		t.Fatal(err)
	}
	if a.File(FileMain).StorageKey != b.File(FileMain).StorageKey || f.storedFiles(t) != 2 {
		t.Fatal("same content stored twice", f.storedFiles(t))
	}

	// Partial update: the summary changes, the rest stays; the version may
	// stay as it is (not "taken" by itself) but not go below 1.0.0.
	u, err := f.s.UpdateVersion(ctx, api, f.set, f.p, b.ID, VersionInput{Version: fields.Some("1.1.0"), Summary: fields.Some(strp("New"))})
	if err != nil {
		t.Fatal(err)
	}
	if *u.Summary != "New" || u.Version != "1.1.0" || u.File(FileSQL) == nil || u.Changelog != nil || u.VersionID != b.VersionID {
		t.Fatalf("%+v", u)
	}
	_, err = f.s.UpdateVersion(ctx, api, f.set, f.p, b.ID, VersionInput{Version: fields.Some("0.9")})
	wantFieldErr(t, err, "version", MsgVersionLower)
	_, err = f.s.UpdateVersion(ctx, api, f.set, f.p, b.ID, VersionInput{Version: fields.Some("1.0.0")})
	wantFieldErr(t, err, "version", "The version has already been taken.")
	_, err = f.s.UpdateVersion(ctx, api, f.set, f.p, b.ID, VersionInput{VersionID: fields.Some(a.VersionID)})
	wantFieldErr(t, err, "version_id", "The version id has already been taken.")
	if _, err := f.s.UpdateVersion(ctx, api, f.set, f.p, 999, VersionInput{}); !errors.Is(err, ErrVersionNotFound) {
		t.Fatal(err)
	}

	// A new main file replaces the shared one for b only; dropping the SQL
	// file deletes it from storage.
	u, err = f.s.UpdateVersion(ctx, api, f.set, f.p, b.ID, VersionInput{MainFile: zipUpload("b2.zip", "new"), RemoveSQLFile: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.File(FileMain).FileName != "b2.zip" || u.File(FileSQL) != nil || u.File(FileMain).StorageKey == a.File(FileMain).StorageKey {
		t.Fatalf("%+v", u.Files)
	}
	if n := f.storedFiles(t); n != 2 {
		t.Fatalf("want a's main and b's new main, %d files", n)
	}

	v, changed, err := f.s.SetVersionPublished(ctx, api, f.p, b.ID, false)
	if err != nil || !changed || v.IsActive {
		t.Fatal(v, changed, err)
	}
	if latest, _ := NewestVersion(ctx, f.d.Bun, f.p.ID); latest.ID != a.ID {
		t.Fatal("unpublished version is not the latest")
	}
	if _, changed, _ = f.s.SetVersionPublished(ctx, api, f.p, b.ID, false); changed {
		t.Fatal("unpublishing twice changes nothing")
	}

	if err := f.s.DeleteVersion(ctx, api, f.p, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := VersionByID(ctx, f.d.Bun, f.p.ID, b.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Fatal(err)
	}
	if n := f.storedFiles(t); n != 1 {
		t.Fatalf("deleted version's file kept: %d", n)
	}
	if err := f.s.DeleteVersion(ctx, api, f.p, b.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Fatal(err)
	}

	// delete_old_versions removes every lower version and its files.
	c, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("2.0.0"), MainFile: zipUpload("c.zip", "c"), DeleteOldVersions: true})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Versions(ctx, f.d.Bun, f.p.ID)
	if len(all) != 1 || all[0].ID != c.ID || f.storedFiles(t) != 1 {
		t.Fatalf("%d versions, %d files", len(all), f.storedFiles(t))
	}
	keys, err := ProductFileKeys(ctx, f.d.Bun, f.p.ID)
	if err != nil || len(keys) != 1 || keys[0] != c.File(FileMain).StorageKey {
		t.Fatal(keys, err)
	}
	if byID, err := VersionByVersionID(ctx, f.d.Bun, strings.ToLower(c.VersionID)); err != nil || byID.ID != c.ID || byID.File(FileMain) == nil {
		t.Fatal(byID, err)
	}
}

func TestRenderChangelog(t *testing.T) {
	html := RenderChangelog("<p>Already <em>HTML</em></p>")
	if html != "<p>Already <em>HTML</em></p>" {
		t.Fatal(html)
	}
	if again := RenderChangelog(RenderChangelog("* a\n* **b**\n\n> quote")); again != RenderChangelog("* a\n* **b**\n\n> quote") {
		t.Fatalf("rendering stored HTML again changes it: %q", again)
	}
	if RenderChangelog("  ") != "" {
		t.Fatal("blank")
	}
}

func TestVersionCheckHookRollsBack(t *testing.T) {
	t.Parallel()
	f := newVersions(t)
	ctx := context.Background()
	var seen *VersionFile
	f.s.Check = func(ctx context.Context, tx bun.IDB, set *settings.Values, p *Product, v *Version, mainChanged bool, in *VersionInput) error {
		seen = v.File(FileMain)
		if in.Signature == "bad" {
			return fields.New("signature", "The signature does not match the manifest")
		}
		return nil
	}
	_, err := f.s.CreateVersion(ctx, api, f.set, f.p, VersionInput{Version: fields.Some("1.0.0"), Changelog: fields.Some(strp("x")), MainFile: zipUpload("a.zip", ""), Signature: "bad"})
	wantFieldErr(t, err, "signature", "The signature does not match the manifest")
	if seen == nil || seen.Size != int64(len(zipBytes)) {
		t.Fatal("the hook sees the recorded main file", seen)
	}
	if all, _ := Versions(ctx, f.d.Bun, f.p.ID); len(all) != 0 || f.storedFiles(t) != 0 {
		t.Fatalf("refused by the hook: %d versions, %d files kept", len(all), f.storedFiles(t))
	}
}
