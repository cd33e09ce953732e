package admins_test

import (
	"testing"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/passwords"
)

// The dummy hash must cost what a real one costs, or timing would tell
// unknown emails from wrong passwords.
func TestDummyHashUsesProductionParameters(t *testing.T) {
	if passwords.NeedsRehash(admins.DummyHash) {
		t.Fatal("dummyHash was made with other parameters than passwords.Hash uses; regenerate it")
	}
}
