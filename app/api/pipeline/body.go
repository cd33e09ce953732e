package pipeline

import (
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
)

// ErrBodyTooLarge: the body is over the configured limit (413).
var ErrBodyTooLarge = errors.New("pipeline: request body too large")

// ReadFields reads the request's fields from its body, else its query string
// (docs/api/authentication.md#request-pipeline step 11,
// docs/api/conventions.md#requests). Its errors are answered by the route's
// Guard: ErrBodyTooLarge 413, apirequest.ErrMalformed 400. The body is read as
// sent, never decoded: a compressed one does not get here (web.BodyLimit
// answers 415, docs/api/conventions.md#requests).
func (p *Pipeline) ReadFields(c fiber.Ctx) (*apirequest.Fields, error) {
	body := c.Request().Body()
	if p.deps.MaxBodyBytes > 0 && len(body) > p.deps.MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	var query url.Values
	if args := c.Request().URI().QueryArgs(); args.Len() > 0 {
		query = url.Values{}
		for k, v := range args.All() {
			query.Add(string(k), string(v))
		}
	}
	// The header's own field: c.Get would look its name up among them all.
	return apirequest.Parse(bytesString(c.Request().Header.ContentType()), body, query, nil)
}

// answerError answers the errors every keyed handler may return (steps
// 11–12): 413, 400, and 422 for request or domain validation failures.
// Anything else is left to the app's error handler (500).
func answerError(c fiber.Ctx, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return Error(c, fiber.StatusRequestEntityTooLarge, MessageBodyTooLarge)
	case errors.Is(err, apirequest.ErrMalformed):
		return Error(c, fiber.StatusBadRequest, MessageUnreadableBody)
	}
	if verr, ok := apirequest.FromError(err); ok {
		return Invalid(c, verr)
	}
	return err
}

// validationEnvelope is the 422 body of docs/api/conventions.md#error-envelope.
type validationEnvelope struct {
	Status   bool               `json:"status"`
	IsActive bool               `json:"is_active"`
	Message  string             `json:"message"`
	Errors   *apirequest.Errors `json:"errors"`
}

// Invalid answers 422 with the failures of errs.
func Invalid(c fiber.Ctx, errs *apirequest.Errors) error {
	return c.Status(fiber.StatusUnprocessableEntity).JSON(validationEnvelope{Message: errs.Message(), Errors: errs})
}
