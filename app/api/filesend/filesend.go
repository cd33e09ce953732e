// Package filesend serves a stored version file as the API's download
// endpoints do (docs/api/external.md#download step 6): the spec's headers and file name, one
// HTTP Range (206, 416), and the bytes streamed from storage without ever
// holding the file in memory. The external update download, download links
// and the internal API's server downloads all answer through it.
package filesend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/signature"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/storage"
)

// Range is the part of a file a request asks for.
type Range struct {
	Start, End int64 // inclusive
	Partial    bool  // a Range header asked for it (206)
}

func (r Range) Length() int64 { return r.End - r.Start + 1 }

var ErrUnsatisfiable = errors.New("range not satisfiable")

// ParseRange reads a Range header (RFC 9110 §14) against a file of size
// bytes: "bytes=a-b", "bytes=a-", "bytes=-n". Anything it does not serve
// (other units, several ranges, a malformed header) is ignored and the
// whole file is sent, as the RFC allows; a range that starts past the end
// is ErrUnsatisfiable (416).
func ParseRange(header string, size int64) (Range, error) {
	whole := Range{Start: 0, End: size - 1}
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return whole, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return whole, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "" && last == "":
		return whole, nil
	case first == "": // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return whole, nil
		}
		if n == 0 || size == 0 {
			return Range{}, ErrUnsatisfiable
		}
		return Range{Start: max(size-n, 0), End: size - 1, Partial: true}, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return whole, nil
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return whole, nil
		}
		b = min(b, size-1)
	}
	if a >= size {
		return Range{}, ErrUnsatisfiable
	}
	return Range{Start: a, End: b, Partial: true}, nil
}

// Meta is what the headers of a version file say (docs/api/external.md#download step 6).
type Meta struct {
	File       *catalog.VersionFile
	Type       string
	ProductRef string
	Version    string
	// Done, if set, is called once the answer of a GET ends, with how many
	// bytes of the range were not sent (0 when all were): how a download
	// link gives back a cut-off download's bytes (downloads.Release).
	Done func(unsent int64)
}

func (m Meta) ContentType() string {
	switch m.Type {
	case catalog.FileMain:
		return "application/zip"
	case catalog.FileSQL:
		return "application/sql"
	}
	return "application/octet-stream"
}

// downloadName is <type>_<product reference>_<version>.<ext>.
func (m Meta) DownloadName() string {
	return m.Type + "_" + m.ProductRef + "_" + m.Version + "." + fileExt(m.File.FileName, m.Type)
}

// fileExt is the extension of the stored file: zip, tar.gz, …; sql for SQL
// files.
func fileExt(name, typ string) string {
	if typ == catalog.FileSQL {
		return "sql"
	}
	lower := strings.ToLower(name)
	for _, ext := range []string{"tar.gz", "tar.bz2", "tar.xz", "tgz", "zip", "gz"} {
		if strings.HasSuffix(lower, "."+ext) {
			return ext
		}
	}
	if i := strings.LastIndexByte(lower, '.'); i >= 0 && i < len(lower)-1 && i >= len(lower)-11 && isAlnum(lower[i+1:]) {
		return lower[i+1:]
	}
	if typ == catalog.FileMain {
		return "zip"
	}
	return "bin"
}

// isAlnum: an extension goes into Content-Disposition unquoted, so only
// letters and digits (no separators, quotes, semicolons or line breaks).
func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// SetHeaders writes the headers every answer about the file carries.
func SetHeaders(c fiber.Ctx, m Meta) {
	c.Set(fiber.HeaderContentType, m.ContentType())
	c.Set("Content-Transfer-Encoding", "Binary")
	c.Set(fiber.HeaderContentDisposition, "attachment; filename="+m.DownloadName())
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	if !m.File.Checked() {
		return
	}
	c.Set(fiber.HeaderETag, `"`+m.File.SHA256+`"`)
	if m.Type == catalog.FileMain {
		c.Set("X-LM-Checksum-SHA256", m.File.SHA256)
	}
}

// Sized fills in the size of a file recorded without one (imported, not
// yet given it by `licensor versions backfill-checksums`) from storage, so
// Range and Content-Length are right before the file is opened.
func Sized(ctx context.Context, store storage.Store, f *catalog.VersionFile) error {
	if f.Checked() {
		return nil
	}
	obj, err := store.Stat(ctx, f.StorageKey)
	if err != nil {
		return fmt.Errorf("size of %s file of version %d: %w", f.Type, f.VersionID, err)
	}
	f.Size = obj.Size
	return nil
}

// Unsatisfiable answers 416 with the file's length.
func Unsatisfiable(c fiber.Ctx, size int64) error {
	c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
	return EmptyStatus(c, fiber.StatusRequestedRangeNotSatisfiable)
}

// Send streams rng of the stored file from store with the headers of
// SetHeaders. A HEAD request gets the headers only.
func Send(c fiber.Ctx, store storage.Store, m Meta, rng Range) error {
	SetHeaders(c, m)
	// A signed answer's digest (docs/api/verifying.md#signed-responses):
	// the file's SHA-256, which is its storage key.
	signature.SetDigest(c, m.File.StorageKey)
	if c.Method() == fiber.MethodHead {
		setStatus(c, rng, m.File.Size)
		c.Response().Header.SetContentLength(int(rng.Length()))
		return nil
	}
	f, err := store.Open(c.Context(), m.File.StorageKey)
	if err != nil {
		if m.Done != nil {
			m.Done(rng.Length())
		}
		return fmt.Errorf("open %s file of version %d: %w", m.Type, m.File.VersionID, err)
	}
	return stream(c, f, rng, m.Done)
}

// Stream answers 200, or 206 with Content-Range for a partial rng, with
// rng of the open file f as the body, and closes f. The file is never
// loaded whole: the server sends it in chunks, by sendfile(2) when f is
// on a local disk.
func Stream(c fiber.Ctx, f storage.File, rng Range) error {
	return stream(c, f, rng, nil)
}

func stream(c fiber.Ctx, f storage.File, rng Range, done func(unsent int64)) error {
	setStatus(c, rng, f.Size())
	if rng.Start > 0 {
		if _, err := f.Seek(rng.Start, io.SeekStart); err != nil {
			_ = f.Close()
			if done != nil {
				done(rng.Length())
			}
			return fmt.Errorf("seek stored file: %w", err)
		}
	}
	body := &streamBody{f: f, left: rng.Length(), conn: c.RequestCtx().Conn(), timeout: c.App().Config().WriteTimeout, done: done}
	return c.SendStream(body, int(rng.Length()))
}

func setStatus(c fiber.Ctx, rng Range, size int64) {
	c.Status(fiber.StatusOK)
	if rng.Partial {
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.End, size))
	}
}

// sendChunk is how much of a file goes out between two moves of the
// write deadline: a client reading slower than sendChunk per
// http.write_timeout (256 KiB per 120 s by default) is cut off.
const sendChunk = 256 << 10

// streamBody is a response body read from a stored file. The server's
// write timeout bounds a whole response; a large file on a slow link would
// be cut off by it, so the connection's write deadline moves on per chunk
// instead. The server closes the body (and so the file) when it is done.
type streamBody struct {
	f       storage.File
	left    int64
	conn    net.Conn
	timeout time.Duration
	done    func(unsent int64)
}

// WriteTo is how fasthttp copies a body that has it. Each chunk is an
// io.LimitedReader over the file handed to the connection's ReadFrom
// (through the server's bufio.Writer once it is empty), which the net
// package sends with sendfile(2) when the file is an *os.File (a disk
// store's): the bytes never pass through user space. Other stores are
// copied by the connection's ReadFrom with its own buffer.
func (b *streamBody) WriteTo(w io.Writer) (int64, error) {
	// The headers wait in the server's write buffer; sent first, every
	// chunk reaches the connection's ReadFrom.
	if fl, ok := w.(interface{ Flush() error }); ok {
		if err := fl.Flush(); err != nil {
			return 0, err
		}
	}
	var sent int64
	for b.left > 0 {
		b.extendDeadline()
		n, err := io.Copy(w, &io.LimitedReader{R: b.f, N: min(b.left, sendChunk)})
		sent += n
		b.left -= n
		if err != nil {
			return sent, err
		}
		if n == 0 {
			return sent, io.ErrUnexpectedEOF
		}
	}
	return sent, nil
}

// Read serves copies that do not use WriteTo.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	b.extendDeadline()
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.f.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *streamBody) extendDeadline() {
	if b.timeout > 0 && b.conn != nil {
		_ = b.conn.SetWriteDeadline(time.Now().Add(b.timeout))
	}
}

func (b *streamBody) Close() error {
	if b.done != nil {
		done := b.done
		b.done = nil
		done(b.left)
	}
	return b.f.Close()
}

// EmptyStatus answers status with an empty body (SendStatus would write
// the status text).
func EmptyStatus(c fiber.Ctx, status int) error {
	c.Status(status)
	c.Response().ResetBody()
	return nil
}
