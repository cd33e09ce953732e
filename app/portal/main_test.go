package portal_test

import (
	"os"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
)

// TestMain runs six tests at a time unless -parallel says otherwise: each
// waits on a database of its own far more than it uses the CPU
// (servertest.SetParallel).
func TestMain(m *testing.M) {
	servertest.SetParallel(6)
	os.Exit(m.Run())
}
