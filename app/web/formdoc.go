package web

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// ErrDocumentTooLarge is an uploaded document over FormDocument's bound.
var ErrDocumentTooLarge = errors.New("the file is too large")

// FormDocument is a small text document a form takes pasted into the
// textarea field or uploaded as fileField (used when the textarea is
// blank): "" when neither was sent, ErrDocumentTooLarge for more than max
// bytes.
func FormDocument(c fiber.Ctx, field, fileField string, max int64) (string, error) {
	if text := strings.TrimSpace(c.FormValue(field)); text != "" {
		if int64(len(text)) > max {
			return "", ErrDocumentTooLarge
		}
		return text, nil
	}
	fh, err := c.FormFile(fileField)
	if err != nil || fh == nil {
		return "", nil
	}
	if fh.Size > max {
		return "", ErrDocumentTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return "", fmt.Errorf("open upload %s: %w", fileField, err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return "", fmt.Errorf("read upload %s: %w", fileField, err)
	}
	if int64(len(b)) > max {
		return "", ErrDocumentTooLarge
	}
	return strings.TrimSpace(string(b)), nil
}
