package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/storage"
)

// Field limits and messages of docs/api/internal.md#versions.
const (
	versionMax      = 50
	versionIDMax    = 100
	summaryMax      = 255
	changelogMax    = 65535
	fileNameMax     = 255
	MsgMainRequired = "Main file is required."
	MsgChangelogReq = "Changelog is required, because this product does not have old version."
	MsgVersionLower = "Your version is lower than latest version of product."
	MsgMainFileType = "The main file must be a zip, gz, tgz, tar.gz, tar.bz2 or tar.xz archive."
	MsgSQLFileType  = "The sql file must be a plain-text .sql file."
	MsgFileTooLarge = "The %s may not be greater than %d bytes."
)

// VersionPattern is the version string's format (docs/api/internal.md#versions).
var VersionPattern = regexp.MustCompile(`^v?\d+\.\d+(\.\d+)?(-[\w-]+)?$`)

// Upload is a file as sent: its name (shown only, never used as a path)
// and its content, read once and streamed into storage.
type Upload struct {
	Name string
	Body io.Reader
}

// VersionInput is what a version create or update sends. On update, fields
// not Set keep their value; a file left nil keeps the stored one.
type VersionInput struct {
	Version    fields.Optional[string]
	VersionID  fields.Optional[string]
	ReleasedAt fields.Optional[time.Time]
	Summary    fields.Optional[*string]
	Changelog  fields.Optional[*string]
	IsActive   fields.Optional[bool]
	// DeleteOldVersions deletes every version of the product lower than
	// this one, with its files, once this one is stored.
	DeleteOldVersions bool

	MainFile *Upload
	SQLFile  *Upload
	// RemoveSQLFile drops the stored SQL file on update.
	RemoveSQLFile bool

	// The signed manifest sent with the upload (docs/api/signing.md#release-integrity), checked by
	// the VersionService's Check.
	Signature, KeyID, Manifest string
}

// CheckFiles, when set on a VersionService, runs in the transaction of a
// create or update once the version and its files are recorded (v.Files
// holds them), before it commits: release signatures (docs/api/signing.md#release-integrity) are
// checked and stored there. mainChanged says whether a new main file came
// with this write. An error rolls the write back and deletes the new
// files; a *fields.Error is a validation failure.
type CheckFiles func(ctx context.Context, tx bun.IDB, set *settings.Values, p *Product, v *Version, mainChanged bool, in *VersionInput) error

// VersionService creates, changes and deletes versions with their files.
// Its writes run in their own transaction because stored files must be
// deleted only after the rows that use them are gone for good.
type VersionService struct {
	db      *bun.DB
	store   storage.Store
	maxFile int64
	now     func() time.Time
	// Check, if set, is called before a version with new files is stored.
	Check CheckFiles
}

// NewVersionService returns a VersionService keeping files in store, each
// at most maxFileBytes (config uploads.max_file_bytes); now nil means
// time.Now.
func NewVersionService(db *bun.DB, store storage.Store, maxFileBytes int64, now func() time.Time) *VersionService {
	if now == nil {
		now = time.Now
	}
	return &VersionService{db: db, store: store, maxFile: maxFileBytes, now: now}
}

// Store is where the service keeps files, for the handlers that serve them.
func (s *VersionService) Store() storage.Store { return s.store }

// CreateVersion validates in, stores its files and records a new version
// of p. set gives the version id format and the time zone of the default
// release date (today).
func (s *VersionService) CreateVersion(ctx context.Context, by audit.Source, set *settings.Values, p *Product, in VersionInput) (*Version, error) {
	now := s.now()
	v := &Version{ProductID: p.ID, IsActive: true, CreatedAt: now, UpdatedAt: now}
	y, m, d := now.In(set.Location()).Date()
	v.ReleasedAt = time.Date(y, m, d, 0, 0, 0, 0, set.Location())

	var verr fields.Error
	if !in.Version.Set || strings.TrimSpace(in.Version.Value) == "" {
		verr.Add("version", fields.Required("version"))
	}
	explicitID := in.VersionID.Set && strings.TrimSpace(in.VersionID.Value) != ""
	others, err := Versions(ctx, s.db, p.ID)
	if err != nil {
		return nil, err
	}
	s.applyVersion(&verr, v, in, nil, others)
	if len(others) == 0 && (v.Changelog == nil) && !verr.Has("changelog") {
		verr.Add("changelog", MsgChangelogReq)
	}
	if in.MainFile == nil {
		verr.Add("main_file", MsgMainRequired)
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}

	var created []string
	files, err := s.storeFiles(ctx, in, &created)
	if err != nil {
		return nil, err
	}
	var oldKeys []string
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for try := 0; ; try++ {
			if !explicitID {
				id, err := NewID(set.ProductVersionUniqueIDFormat, now)
				if err != nil {
					return err
				}
				v.VersionID = id
			}
			// A clash on the version id or the version string must not abort
			// the transaction: DO NOTHING, then find out which it was.
			res, err := tx.NewInsert().Model(v).On("CONFLICT DO NOTHING").Returning("*").Exec(ctx)
			if err != nil {
				return fmt.Errorf("create version: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				break
			}
			taken, err := tx.NewSelect().Model((*Version)(nil)).Where("product_id = ? AND version = ?", p.ID, v.Version).Exists(ctx)
			if err != nil {
				return fmt.Errorf("create version: %w", err)
			}
			if taken {
				return fields.New("version", fields.Taken("version"))
			}
			if explicitID {
				return fields.New("version_id", fields.Taken("version_id"))
			}
			if try == idGenerateTries {
				return fmt.Errorf("create version: no free version id after %d tries", try)
			}
		}
		if err := s.insertFiles(ctx, tx, v, files); err != nil {
			return err
		}
		if s.Check != nil {
			if err := s.Check(ctx, tx, set, p, v, true, &in); err != nil {
				return err
			}
		}
		if in.DeleteOldVersions {
			keys, err := s.deleteOlder(ctx, tx, v, others)
			if err != nil {
				return err
			}
			oldKeys = keys
		}
		return s.changed(ctx, tx, by, p, v, "version.created", "created")
	})
	if err != nil {
		s.forget(created)
		return nil, err
	}
	s.sweep(ctx, oldKeys)
	return v, nil
}

// UpdateVersion changes the Set fields of version id of p and replaces the
// files that in carries.
func (s *VersionService) UpdateVersion(ctx context.Context, by audit.Source, set *settings.Values, p *Product, id int64, in VersionInput) (*Version, error) {
	v, err := VersionByID(ctx, s.db, p.ID, id)
	if err != nil {
		return nil, err
	}
	all, err := Versions(ctx, s.db, p.ID)
	if err != nil {
		return nil, err
	}
	others := slicesDeleteID(all, v.ID)
	var verr fields.Error
	var cols []string
	if in.Version.Set && strings.TrimSpace(in.Version.Value) == "" {
		verr.Add("version", fields.Required("version"))
	}
	if in.VersionID.Set && strings.TrimSpace(in.VersionID.Value) == "" {
		// An empty version id keeps the one it has (empty means absent).
		in.VersionID = fields.Optional[string]{}
	}
	s.applyVersion(&verr, v, in, &cols, others)
	if err := verr.Err(); err != nil {
		return nil, err
	}

	var created []string
	files, err := s.storeFiles(ctx, in, &created)
	if err != nil {
		return nil, err
	}
	var freed []string
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		v.UpdatedAt = s.now()
		cols = append(cols, "updated_at")
		if _, err := tx.NewUpdate().Model(v).Column(cols...).WherePK().Exec(ctx); err != nil {
			if ferr := uniqueField(err); ferr != nil {
				return ferr
			}
			return fmt.Errorf("update version %d: %w", v.ID, err)
		}
		var replaced []string
		for typ := range files {
			replaced = append(replaced, typ)
		}
		if in.RemoveSQLFile && files[FileSQL] == nil {
			replaced = append(replaced, FileSQL)
		}
		if len(replaced) > 0 {
			q := tx.NewSelect().Model((*VersionFile)(nil)).Column("storage_key").
				Where("version_id = ? AND type IN (?)", v.ID, bun.List(replaced))
			if err := q.Scan(ctx, &freed); err != nil {
				return fmt.Errorf("files of version %d: %w", v.ID, err)
			}
			if _, err := tx.NewDelete().Model((*VersionFile)(nil)).
				Where("version_id = ? AND type IN (?)", v.ID, bun.List(replaced)).Exec(ctx); err != nil {
				return fmt.Errorf("replace files of version %d: %w", v.ID, err)
			}
		}
		if err := s.insertFiles(ctx, tx, v, files); err != nil {
			return err
		}
		if s.Check != nil {
			if err := s.Check(ctx, tx, set, p, v, files[FileMain] != nil, &in); err != nil {
				return err
			}
		}
		if in.DeleteOldVersions {
			keys, err := s.deleteOlder(ctx, tx, v, others)
			if err != nil {
				return err
			}
			freed = append(freed, keys...)
		}
		return s.changed(ctx, tx, by, p, v, "version.updated", "updated")
	})
	if err != nil {
		s.forget(created)
		return nil, err
	}
	s.sweep(ctx, freed)
	return VersionByID(ctx, s.db, p.ID, v.ID)
}

// SetVersionPublished publishes or unpublishes version id of p. changed is
// false when it already was.
func (s *VersionService) SetVersionPublished(ctx context.Context, by audit.Source, p *Product, id int64, on bool) (v *Version, changed bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Version)(nil)).
			Set("is_active = ?", on).Set("updated_at = ?", s.now()).
			Where("product_id = ? AND id = ? AND is_active <> ?", p.ID, id, on).Exec(ctx)
		if err != nil {
			return fmt.Errorf("publish version %d: %w", id, err)
		}
		if v, err = VersionByID(ctx, tx, p.ID, id); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		changed = true
		typ, verb := "version.published", "published"
		if !on {
			typ, verb = "version.unpublished", "unpublished"
		}
		return s.changed(ctx, tx, by, p, v, typ, verb)
	})
	if err != nil {
		return nil, false, err
	}
	return v, changed, nil
}

// DeleteVersion deletes version id of p and the stored files no other
// version uses.
func (s *VersionService) DeleteVersion(ctx context.Context, by audit.Source, p *Product, id int64) error {
	var keys []string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		v, err := VersionByID(ctx, tx, p.ID, id)
		if err != nil {
			return err
		}
		if keys, err = s.deleteRows(ctx, tx, []int64{id}); err != nil {
			return err
		}
		return s.changed(ctx, tx, by, p, v, "version.deleted", "deleted")
	})
	if err != nil {
		return err
	}
	s.sweep(ctx, keys)
	return nil
}

// ProductFileKeys returns the storage keys of every file of product id's
// versions, so that after deleting the product (its versions cascade) the
// caller can hand them to SweepFiles.
func ProductFileKeys(ctx context.Context, idb bun.IDB, productID int64) ([]string, error) {
	var keys []string
	err := idb.NewSelect().Model((*VersionFile)(nil)).Column("vf.storage_key").
		Join("JOIN product_versions AS v ON v.id = vf.version_id").Where("v.product_id = ?", productID).
		Scan(ctx, &keys)
	if err != nil {
		return nil, fmt.Errorf("file keys of product %d: %w", productID, err)
	}
	return keys, nil
}

// SweepFiles deletes from storage those of keys that no version file uses
// any more. Failures are left behind: a stored file nobody refers to costs
// disk space only.
func (s *VersionService) SweepFiles(ctx context.Context, keys []string) { s.sweep(ctx, keys) }

// applyVersion validates the fields of in other than the files and copies
// the Set ones into v, naming the columns in cols when it is given. others
// are the product's other versions.
func (s *VersionService) applyVersion(verr *fields.Error, v *Version, in VersionInput, cols *[]string, others []Version) {
	col := func(c string) {
		if cols != nil {
			*cols = append(*cols, c)
		}
	}
	if in.Version.Set && strings.TrimSpace(in.Version.Value) != "" {
		unchanged := strings.EqualFold(v.Version, strings.TrimSpace(in.Version.Value))
		v.Version = strings.TrimSpace(in.Version.Value)
		switch {
		case unchanged:
		case fields.Length(v.Version) > versionMax:
			verr.Add("version", fields.MaxLen("version", versionMax))
		case !VersionPattern.MatchString(v.Version):
			verr.Add("version", fields.Format("version"))
		default:
			for _, o := range others {
				c := CompareVersions(v.Version, o.Version)
				if c == 0 || strings.EqualFold(v.Version, o.Version) {
					verr.Add("version", fields.Taken("version"))
					break
				}
				if c < 0 {
					verr.Add("version", MsgVersionLower)
					break
				}
			}
		}
		col("version")
	}
	if in.VersionID.Set && strings.TrimSpace(in.VersionID.Value) != "" {
		v.VersionID = strings.TrimSpace(in.VersionID.Value)
		switch {
		case fields.Length(v.VersionID) > versionIDMax:
			verr.Add("version_id", fields.MaxLen("version_id", versionIDMax))
		case !fields.IsIdentifier(v.VersionID):
			verr.Add("version_id", fields.Format("version_id"))
		}
		col("version_id")
	}
	if in.ReleasedAt.Set {
		v.ReleasedAt = in.ReleasedAt.Value
		verr.CheckDate("released_at", &v.ReleasedAt)
		col("released_at")
	}
	if in.Summary.Set {
		v.Summary = emptyToNil(in.Summary.Value)
		if v.Summary != nil {
			verr.CheckLen("summary", *v.Summary, 0, summaryMax)
		}
		col("summary")
	}
	if in.Changelog.Set {
		v.Changelog = nil
		if c := emptyToNil(in.Changelog.Value); c != nil {
			if fields.Length(*c) > changelogMax {
				verr.Add("changelog", fields.MaxLen("changelog", changelogMax))
			} else if html := RenderChangelog(*c); html != "" {
				v.Changelog = &html
			}
		}
		col("changelog")
	}
	if in.IsActive.Set {
		v.IsActive = in.IsActive.Value
		col("is_active")
	}
}

// storeFiles streams the uploads of in into storage, checking each by
// content, and returns them by type (not yet recorded). created collects
// the keys this call stored for the first time, for clean-up on failure.
func (s *VersionService) storeFiles(ctx context.Context, in VersionInput, created *[]string) (map[string]*VersionFile, error) {
	out := map[string]*VersionFile{}
	put := func(typ, field string, up *Upload) error {
		if up == nil {
			return nil
		}
		name := uploadName(up.Name)
		body, refused := checkContent(typ, name, up.Body)
		if refused != "" {
			return fields.New(field, refused)
		}
		obj, err := s.store.Put(ctx, storage.Limit(body, s.maxFile))
		switch {
		case errors.Is(err, storage.ErrTooLarge):
			return fields.New(field, fmt.Sprintf(MsgFileTooLarge, fields.Label(field), s.maxFile))
		case errors.Is(err, errNotText):
			return fields.New(field, MsgSQLFileType)
		case err != nil:
			return fmt.Errorf("store %s: %w", field, err)
		}
		if obj.Created {
			*created = append(*created, obj.Key)
		}
		out[typ] = &VersionFile{Type: typ, FileName: name, StorageKey: obj.Key, SHA256: obj.SHA256, Size: obj.Size}
		return nil
	}
	if err := put(FileMain, "main_file", in.MainFile); err != nil {
		s.forget(*created)
		return nil, err
	}
	if err := put(FileSQL, "sql_file", in.SQLFile); err != nil {
		s.forget(*created)
		return nil, err
	}
	return out, nil
}

func (s *VersionService) insertFiles(ctx context.Context, tx bun.Tx, v *Version, files map[string]*VersionFile) error {
	for _, typ := range []string{FileMain, FileSQL} {
		f := files[typ]
		if f == nil {
			continue
		}
		f.VersionID = v.ID
		f.CreatedAt = s.now()
		if _, err := tx.NewInsert().Model(f).Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("record %s file of version %d: %w", typ, v.ID, err)
		}
	}
	var err error
	v.Files, err = versionFiles(ctx, tx, v.ID)
	return err
}

func versionFiles(ctx context.Context, idb bun.IDB, versionID int64) ([]*VersionFile, error) {
	var fs []*VersionFile
	if err := idb.NewSelect().Model(&fs).Where("vf.version_id = ?", versionID).OrderExpr("vf.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("files of version %d: %w", versionID, err)
	}
	return fs, nil
}

// deleteOlder deletes the versions among others lower than v (docs/api/internal.md#versions
// delete_old_versions) and returns their files' keys.
func (s *VersionService) deleteOlder(ctx context.Context, tx bun.Tx, v *Version, others []Version) ([]string, error) {
	var older []int64
	for _, o := range others {
		if CompareVersions(o.Version, v.Version) < 0 {
			older = append(older, o.ID)
		}
	}
	return s.deleteRows(ctx, tx, older)
}

// deleteRows deletes versions by row id and returns their files' keys.
func (s *VersionService) deleteRows(ctx context.Context, tx bun.Tx, ids []int64) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var keys []string
	if err := tx.NewSelect().Model((*VersionFile)(nil)).Column("storage_key").
		Where("version_id IN (?)", bun.List(ids)).Scan(ctx, &keys); err != nil {
		return nil, fmt.Errorf("files of versions %v: %w", ids, err)
	}
	if _, err := tx.NewDelete().Model((*Version)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("delete versions %v: %w", ids, err)
	}
	return keys, nil
}

// sweep deletes the stored files among keys that no row uses, after the
// deleting transaction committed.
func (s *VersionService) sweep(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	var used []string
	if err := s.db.NewSelect().Model((*VersionFile)(nil)).Column("storage_key").
		Where("storage_key IN (?)", bun.List(keys)).Scan(ctx, &used); err != nil {
		return
	}
	for _, k := range keys {
		if !containsString(used, k) {
			_ = s.store.Delete(ctx, k)
		}
	}
}

// forget deletes files stored by a write that then failed, unless a row
// recorded them meanwhile (the same bytes uploaded by someone else).
func (s *VersionService) forget(keys []string) {
	s.sweep(context.Background(), keys)
}

func (s *VersionService) changed(ctx context.Context, tx bun.Tx, by audit.Source, p *Product, v *Version, typ, verb string) error {
	// Products carry their latest version: every node's cache drops p.
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", ProductsChannel, cacheKey(p.ReferenceID)); err != nil {
		return fmt.Errorf("notify version change: %w", err)
	}
	return audit.Record(ctx, tx, audit.Entry{
		Type:    typ,
		Actor:   by.Actor,
		IP:      by.IP,
		Subject: &audit.Subject{Type: audit.SubjectProduct, ID: p.ID},
		Message: fmt.Sprintf("Product %s version %s %s %s.", p.Name, v.Version, verb, by.Actor.Via()),
		Data:    map[string]any{"version_id": v.VersionID},
	})
}

var errNotText = errors.New("not plain text")

// uniqueField names the field whose UNIQUE constraint err violated, or
// returns nil when err is no such violation.
func uniqueField(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "23505" {
		return nil
	}
	if strings.Contains(pg.ConstraintName, "version_id") {
		return fields.New("version_id", fields.Taken("version_id"))
	}
	return fields.New("version", fields.Taken("version"))
}

// archiveMagic are the first bytes of the archive kinds a main file may
// be: zip (also an empty one), gzip (gz, tgz, tar.gz), bzip2, xz.
var archiveMagic = [][]byte{
	[]byte("PK\x03\x04"), []byte("PK\x05\x06"), {0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0x00},
}

// checkContent vets an upload by its content (docs/features.md#security: names are
// never trusted) and returns the reader to store it from, or the message
// refusing it. A SQL file is
// checked as it streams: the reader fails with errNotText on a NUL byte or
// invalid UTF-8.
func checkContent(typ, name string, r io.Reader) (io.Reader, string) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Sprintf("The %s file could not be read.", typ)
	}
	switch typ {
	case FileMain:
		for _, m := range archiveMagic {
			if bytes.HasPrefix(head, m) {
				return br, ""
			}
		}
		return nil, MsgMainFileType
	case FileSQL:
		if !strings.EqualFold(path.Ext(name), ".sql") || len(head) == 0 {
			return nil, MsgSQLFileType
		}
		return &textReader{r: br}, ""
	}
	return br, ""
}

// textReader passes text through and fails on binary content.
type textReader struct {
	r    io.Reader
	tail []byte // an incomplete UTF-8 sequence at the end of the last read
}

func (t *textReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	chunk := append(t.tail, p[:n]...)
	t.tail = nil
	if bytes.IndexByte(chunk, 0) >= 0 {
		return 0, errNotText
	}
	// Keep up to 3 trailing bytes that may begin a rune split by the read.
	cut := len(chunk)
	for i := 1; i <= 3 && i <= len(chunk); i++ {
		if utf8.RuneStart(chunk[len(chunk)-i]) {
			if !utf8.FullRune(chunk[len(chunk)-i:]) {
				cut = len(chunk) - i
			}
			break
		}
	}
	if !utf8.Valid(chunk[:cut]) {
		return 0, errNotText
	}
	t.tail = append([]byte(nil), chunk[cut:]...)
	if errors.Is(err, io.EOF) && len(t.tail) > 0 {
		return 0, errNotText
	}
	return n, err
}

// uploadName keeps the base name of what a browser or client sent, for
// display (some send full Windows paths), bounded in length.
func uploadName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	// Control characters (NUL, CR, LF) would break the database row or a
	// header the name reaches.
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(path.Base(name))
	if name == "." || name == ".." || name == "/" || name == "" || !utf8.ValidString(name) {
		name = "file"
	}
	if r := []rune(name); len(r) > fileNameMax {
		name = string(r[len(r)-fileNameMax:])
	}
	return name
}

func slicesDeleteID(vs []Version, id int64) []Version {
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		if v.ID != id {
			out = append(out, v)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
