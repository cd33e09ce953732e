package hosttest

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const script = "#!/bin/sh\necho '{\"name\":\"script\"}'\n"

// readerFunc is an io.Reader made of a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestWriteExecutableForksNothingWhileOpen: while the executable is open
// for writing, no fork can take syscall.ForkLock (os/exec's forks take it
// for writing), so no child can inherit the write descriptor, and the file
// starts at its first try, with no retry.
func TestWriteExecutableForksNothingWhileOpen(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	checked := false
	midWrite := readerFunc(func([]byte) (int, error) {
		checked = true
		if syscall.ForkLock.TryLock() {
			syscall.ForkLock.Unlock()
			t.Error("a child could be forked while the executable was open for writing: it would hold the descriptor until it execs, and starting the executable meanwhile fails with ETXTBSY")
		}
		return 0, io.EOF
	})
	if err := writeExecutable(bin, io.MultiReader(strings.NewReader(script), midWrite)); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("the write did not read to its end")
	}
	if out, err := exec.Command(bin).Output(); err != nil || !strings.Contains(string(out), `"script"`) {
		t.Fatalf("first start: %q, %v", out, err)
	}
}

// TestManifestWaitsForAChildHoldingTheWriteDescriptor reproduces CI's
// "text file busy" deterministically: a child holds a write descriptor to
// the executable, as one forked during its write does until it execs.
// manifestOf keeps trying until the child is gone.
func TestManifestWaitsForAChildHoldingTheWriteDescriptor(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	if err := WriteExecutable(bin, []byte(script)); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(bin, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("sleep", "600")
	holder.ExtraFiles = []*os.File{w} // inherited without close-on-exec: kept past the child's exec
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	gone := false
	release := func() {
		if !gone {
			gone = true
			_ = holder.Process.Kill()
			_ = holder.Wait() // exited: its descriptors are closed
		}
	}
	t.Cleanup(release)

	if err := exec.Command(bin, "manifest").Run(); !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("start while a child holds a write descriptor: %v, want ETXTBSY", err)
	}
	refusals := 0
	out, err := manifestOf(bin, func() {
		refusals++
		release()
	})
	if err != nil || !strings.Contains(string(out), `"script"`) {
		t.Fatalf("manifest: %q, %v", out, err)
	}
	if refusals != 1 {
		t.Fatalf("%d refusals, want 1 (the one before the child was gone)", refusals)
	}
}
