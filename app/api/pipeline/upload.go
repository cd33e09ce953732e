package pipeline

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/storage"
)

// uploadMemory is how much of a multipart upload's files is kept in
// memory; larger files are spooled to temporary files as they arrive.
const uploadMemory = 64 << 10

// ReadUpload reads the fields of a version upload (docs/api/conventions.md#requests "Size"):
// a multipart body is streamed from the connection, its files spooled to
// temporary files (never held whole in memory), the whole body bounded by
// maxBytes; any other body is read as ReadFields does. The route must be
// one the server streams (web.BodyLimit). cleanup removes the temporary
// files; call it when the files have been stored.
func (p *Pipeline) ReadUpload(c fiber.Ctx, maxBytes int64) (f *apirequest.Fields, cleanup func(), err error) {
	cleanup = func() {}
	req := c.Request()
	mediaType, params, perr := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if perr != nil || mediaType != "multipart/form-data" {
		if req.IsBodyStream() {
			body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(p.deps.MaxBodyBytes)+1))
			if err != nil {
				return nil, cleanup, apirequest.ErrMalformed
			}
			req.SetBodyRaw(body)
		}
		f, err := p.ReadFields(c)
		return f, cleanup, err
	}
	if params["boundary"] == "" {
		return nil, cleanup, apirequest.ErrMalformed
	}
	if req.Header.ContentLength() > 0 && int64(req.Header.ContentLength()) > maxBytes {
		return nil, cleanup, ErrBodyTooLarge
	}
	var body io.Reader
	if req.IsBodyStream() {
		body = req.BodyStream()
	} else {
		body = strings.NewReader(string(req.Body()))
	}
	form, err := multipart.NewReader(storage.Limit(body, maxBytes), params["boundary"]).ReadForm(uploadMemory)
	if err != nil {
		if errors.Is(err, storage.ErrTooLarge) {
			return nil, cleanup, ErrBodyTooLarge
		}
		return nil, cleanup, apirequest.ErrMalformed
	}
	cleanup = func() { _ = form.RemoveAll() }
	query := url.Values{}
	for k, v := range req.URI().QueryArgs().All() {
		query.Add(string(k), string(v))
	}
	f, err = apirequest.Parse(c.Get(fiber.HeaderContentType), nil, query, form)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	return f, cleanup, nil
}
