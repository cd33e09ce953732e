package web

import "github.com/gofiber/fiber/v3"

// Flash is a one-time message shown on the next rendered page.
type Flash struct {
	Kind    string // FlashSuccess, FlashError or FlashInfo; also the CSS modifier
	Message string
	// UndoURL, when set, is where the flash's Undo button posts: a
	// reversible action (block, deactivate) offers to take itself back.
	UndoURL string
}

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashError   = "error"
	FlashInfo    = "info"
)

const flashKey = "flashes"

// AddFlash queues a message in the session for the next page rendered. It
// does nothing outside the Sessions middleware.
func AddFlash(c fiber.Ctx, kind, message string) {
	s := Session(c)
	if s == nil {
		return
	}
	flashes, _ := s.Get(flashKey).([]Flash)
	s.Set(flashKey, append(flashes, Flash{Kind: kind, Message: message}))
}

// AddUndoFlash queues a success message with an Undo button posting to
// undoURL (a local path with its parameters).
func AddUndoFlash(c fiber.Ctx, message, undoURL string) {
	s := Session(c)
	if s == nil {
		return
	}
	flashes, _ := s.Get(flashKey).([]Flash)
	s.Set(flashKey, append(flashes, Flash{Kind: FlashSuccess, Message: message, UndoURL: LocalPath(undoURL, "")}))
}

// popFlashes returns the queued messages and removes them, so each is shown
// once.
func popFlashes(c fiber.Ctx) []Flash {
	s := Session(c)
	if s == nil {
		return nil
	}
	flashes, _ := s.Get(flashKey).([]Flash)
	if len(flashes) > 0 {
		s.Delete(flashKey)
	}
	return flashes
}
