package avatars

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"sync"
	"testing"
	"time"
)

// pngHeader is a PNG declaring w×h pixels of bit depth and colour type
// whose image data is not there: what DecodeConfig reads, and all a
// refusal from the header needs.
func pngHeader(w, h uint32, depth, colorType byte) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colorType
	_ = binary.Write(&out, binary.BigEndian, uint32(len(ihdr)))
	out.WriteString("IHDR")
	out.Write(ihdr)
	_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return out.Bytes()
}

// jpegHeader is a JPEG whose frame header (SOF0 baseline, SOF2
// progressive) declares w×h pixels of three components, without scans.
func jpegHeader(sof byte, w, h uint16) []byte {
	b := []byte{0xFF, 0xD8,
		0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // JFIF
		0xFF, sof, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1}
	return append(b, 0xFF, 0xD9)
}

// TestDecodingBounded is issue 15.5: a picture is decoded only when its
// header fits a 256-pixel avatar — at most 16 megapixels (4000 × 4000) and
// 64 MiB once decoded by its colour model — so the probe's 310 KB 16-bit
// PNG of 6320 × 6320 (+350 MB) is refused before decoding, as are 16-bit
// and progressive pictures whose pixels would take too much memory.
func TestDecodingBounded(t *testing.T) {
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"16-bit RGBA 6320×6320 (the probe's)": {pngHeader(6320, 6320, 16, 6), ErrPixels},
		"8-bit RGB 4001×4000":                 {pngHeader(4001, 4000, 8, 2), ErrPixels},
		"16-bit RGBA 3000×3000 (72 MB)":       {pngHeader(3000, 3000, 16, 6), ErrPixels},
		"8-bit RGBA 4000×4000 (64 MB)":        {pngHeader(4000, 4000, 8, 6), ErrBroken},
		"16-bit gray 4000×4000 (32 MB)":       {pngHeader(4000, 4000, 16, 0), ErrBroken},
		"progressive JPEG 3000×3000":          {jpegHeader(0xC2, 3000, 3000), ErrPixels},
		"baseline JPEG 3000×3000":             {jpegHeader(0xC0, 3000, 3000), ErrBroken},
	} {
		start := time.Now()
		_, err := Process(bytes.NewReader(tc.data), DefaultMaxBytes)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if d := time.Since(start); tc.want == ErrPixels && d > time.Second {
			t.Errorf("%s: refused after %s", name, d)
		}
	}
	if msg := Message(ErrPixels, DefaultMaxBytes); msg == "" {
		t.Error("no message for too many pixels")
	}

	// A 16-bit picture within the bounds is made a thumbnail, allocating
	// about its decoded size, not hundreds of MB.
	src := image.NewRGBA64(image.Rect(0, 0, 1500, 1500))
	for y := 0; y < 1500; y += 7 {
		for x := 0; x < 1500; x += 5 {
			src.SetRGBA64(x, y, color.RGBA64{uint16(x * 40), uint16(y * 40), 0x8000, 0xFFFF})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	thumb, err := Process(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := png.DecodeConfig(bytes.NewReader(thumb)); err != nil || got.Width != Size || got.Height != Size {
		t.Fatalf("thumbnail %+v %v", got, err)
	}
	decoded := uint64(1500 * 1500 * 8)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*decoded {
		t.Errorf("a %d-byte decoded picture allocated %d bytes", decoded, alloc)
	}
}

// TestDecodesAtMostTwoAtOnce: five uploads at once, two decode, the
// others wait for a slot and, past the wait, are told to try again.
func TestDecodesAtMostTwoAtOnce(t *testing.T) {
	var small bytes.Buffer
	if err := png.Encode(&small, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	inside := make(chan struct{}, 5)
	release := make(chan struct{})
	decodeHook = func() { inside <- struct{}{}; <-release }
	decodeWait = 200 * time.Millisecond
	t.Cleanup(func() { decodeHook, decodeWait = nil, 10*time.Second })

	errs := make(chan error, 5)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Process(bytes.NewReader(small.Bytes()), DefaultMaxBytes)
			errs <- err
		}()
	}
	<-inside
	<-inside
	// The three others give up while both slots are held.
	for range 3 {
		if err := <-errs; !errors.Is(err, ErrBusy) {
			t.Errorf("a third decode at once: %v, want ErrBusy", err)
		}
	}
	if len(inside) != 0 {
		t.Errorf("%d more decodes started while two ran", len(inside))
	}
	close(release)
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("a decode holding a slot: %v", err)
		}
	}
	if Message(ErrBusy, DefaultMaxBytes) == "" {
		t.Error("no message for a busy node")
	}
}
