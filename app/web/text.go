package web

import (
	"bytes"
	"iter"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"
)

// messageBadText answers a request whose parameters cannot be text.
const messageBadText = "The request contains characters that are not allowed."

// RejectBadText refuses (400) a request whose query parameters or
// URL-encoded form fields hold a NUL byte or invalid UTF-8. PostgreSQL
// cannot store or compare such text, so letting it through would turn a
// typo or an attack into a 500 deep in some query. A path holding one
// (/api/internal/products/ACME%00) names nothing that can exist: 404.
func RejectBadText() fiber.Handler {
	return func(c fiber.Ctx) error {
		if !goodText(c.Request().URI().Path()) {
			return fiber.ErrNotFound
		}
		bad := func(args iter.Seq2[[]byte, []byte]) bool {
			for k, v := range args {
				if !goodText(k) || !goodText(v) {
					return true
				}
			}
			return false
		}
		isForm := bytes.HasPrefix(c.Request().Header.ContentType(), []byte(fiber.MIMEApplicationForm))
		query := c.Request().URI().QueryArgs()
		if (query.Len() > 0 && bad(query.All())) || (isForm && bad(c.Request().PostArgs().All())) {
			return fiber.NewError(fiber.StatusBadRequest, messageBadText)
		}
		return c.Next()
	}
}

func goodText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) }
