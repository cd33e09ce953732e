package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/servertest"
)

// Issue 15 point 13: guesses of current_password in the settings forms
// count with the sign-in limits (login_max_attempts per account), so a
// stolen session cannot try passwords; past the limit even the right one
// is refused (429) until the lockout ends.
func TestCurrentPasswordGuessesThrottled(t *testing.T) {
	t.Parallel()
	// One window (login_lockout_minutes: 15) of the node's clock.
	e := servertest.NewWithClock(t, servertest.NewClock(time.Now().Truncate(15*time.Minute)).Now)
	e.SetSettings(t, map[string]string{"login_max_attempts": "3"})
	newCustomer(t, e, "cora@example.com", true)
	c := mustSignIn(t, e, "cora@example.com")
	c.GetCSRF("/customer/settings")
	change := func(current string) *http.Response {
		const newPw = "an entirely new passphrase 7"
		return c.PostForm("/customer/settings/password", url.Values{"current_password": {current}, "password": {newPw}, "password_confirmation": {newPw}}).Response
	}
	// Both forms that ask for it count.
	if r := c.PostForm("/customer/settings/email", url.Values{"email": {"cora@example.com"}, "current_password": {"wrong 1"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current password on the email form: %d", r.StatusCode)
	}
	for i := range 2 {
		if r := change("wrong guess " + string(rune('a'+i))); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: %d, want 422", i+2, r.StatusCode)
		}
	}
	r := c.PostForm("/customer/settings/password", url.Values{"current_password": {password}, "password": {"an entirely new passphrase 7"}, "password_confirmation": {"an entirely new passphrase 7"}})
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many sign-in attempts") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password after 3 wrong guesses (limit 3): %d, want 429 with Retry-After", r.StatusCode)
	}
	// The same account's sign-in is locked too: the limits are one.
	if r := signIn(e.Client(t), "cora@example.com", password); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in after the guesses: %d, want 429", r.StatusCode)
	}
}
