package avatars

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/gif"
	"image/png"
	"os"
	"testing"
)

func TestProcessWebP(t *testing.T) {
	// testdata/blue-purple-pink.lossy.webp is golang.org/x/image's own test
	// picture (BSD licence).
	data, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	if Sniff(data) != "image/webp" {
		t.Fatalf("sniffed %q", Sniff(data))
	}
	out, err := Process(bytes.NewReader(data), DefaultMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != Size || b.Dy() != Size {
		t.Errorf("thumbnail %dx%d", b.Dx(), b.Dy())
	}
}

func TestProcessRefuses(t *testing.T) {
	var g bytes.Buffer
	if err := gif.Encode(&g, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data []byte
		max  int64
		want error
	}{
		"gif":       {g.Bytes(), DefaultMaxBytes, ErrFormat},
		"text":      {[]byte("hello, I am a text file"), DefaultMaxBytes, ErrFormat},
		"too large": {bytes.Repeat([]byte{0xFF}, 2048), 1024, ErrTooLarge},
		"empty":     {nil, DefaultMaxBytes, ErrEmpty},
		"broken":    {[]byte("RIFF\x00\x00\x00\x00WEBPVP8 garbage"), DefaultMaxBytes, ErrBroken},
	} {
		if _, err := Process(bytes.NewReader(tc.data), tc.max); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if Message(tc.want, tc.max) == "" {
			t.Errorf("%s: no message", name)
		}
	}
}

func TestDirStorage(t *testing.T) {
	ctx := context.Background()
	s := DirStorage{Dir: t.TempDir()}
	key, err := NewKey(7)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, key); err != nil || string(got) != "x" {
		t.Fatalf("get: %q %v", got, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.Put(ctx, "../escape.png", []byte("x")); err == nil {
		t.Error("a key with a path was accepted")
	}
}
