// Package avatars turns an uploaded profile picture into the square thumbnail
// Licensor keeps, and stores it (docs/features.md#customer-portal,
// docs/features.md#security: checked by content and size, re-encoded, names
// never reach the file system).
//
// Process accepts JPEG, PNG and WebP only, recognised by their magic bytes
// and then fully decoded (image/jpeg, image/png, golang.org/x/image/webp);
// anything else (a GIF, a text file named .png, a truncated image) is
// refused with a message for the form. The picture is centre-cropped to a
// square, scaled to Size×Size with golang.org/x/image/draw and re-encoded
// as PNG, which also drops any metadata (EXIF, GPS) the upload carried.
//
// Storage keeps thumbnails by key; DirStorage is the data directory's
// implementation, and another (a bucket) can be given instead.
package avatars

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Size is the side of the stored thumbnail, in pixels.
const Size = 256

// DefaultMaxBytes is the upload limit when none is configured.
const DefaultMaxBytes = 2 << 20

// The decoding bounds (docs/deploy.md#avatar-decoding): a 256-pixel
// thumbnail needs no more than maxPixels (4000 × 4000), and the decoded
// picture may take at most maxDecodeBytes of memory, by its header's
// colour model and encoding — a 16-bit PNG takes 8 bytes a pixel, a
// progressive JPEG keeps every coefficient besides its pixels — so a small
// file declaring a large picture is refused before decoding.
const (
	maxPixels      = 16_000_000
	maxDecodeBytes = 64 << 20
)

// MaxDecodes is how many pictures a node decodes at once; more wait
// (at most decodeWait, then ErrBusy), so parallel uploads cannot multiply
// the memory or take every core.
const MaxDecodes = 2

// decodeWait is how long an upload waits for a decoding slot.
var decodeWait = 10 * time.Second

var decodes = make(chan struct{}, MaxDecodes)

// decodeHook, when set (tests), runs while a decoding slot is held.
var decodeHook func()

// Errors of Process; Message gives each its text for the form.
var (
	ErrEmpty    = errors.New("avatar: no file")
	ErrTooLarge = errors.New("avatar: file too large")
	ErrFormat   = errors.New("avatar: not a JPEG, PNG or WebP image")
	ErrBroken   = errors.New("avatar: image cannot be read")
	// ErrPixels is a picture whose header declares more than maxPixels,
	// or more than maxDecodeBytes once decoded: refused from the header
	// alone, before decoding (a decompression bomb is a few kilobytes).
	ErrPixels = errors.New("avatar: too many pixels")
	// ErrBusy is an upload that waited decodeWait for a decoding slot.
	ErrBusy = errors.New("avatar: too many pictures being read")
)

// Message is the text shown next to the avatar field for an error of
// Process (maxBytes is the limit that applied), or "" for other errors.
func Message(err error, maxBytes int64) string {
	switch {
	case errors.Is(err, ErrEmpty):
		return "Choose a picture to upload."
	case errors.Is(err, ErrTooLarge):
		return fmt.Sprintf("The picture is too large: at most %s.", humanBytes(maxBytes))
	case errors.Is(err, ErrFormat):
		return "The picture must be a JPEG, PNG or WebP image."
	case errors.Is(err, ErrPixels):
		return fmt.Sprintf("The picture is too large: at most %d megapixels (4000 × 4000), fewer for 16-bit pictures.", maxPixels/1_000_000)
	case errors.Is(err, ErrBusy):
		return "Too many pictures are being uploaded right now. Please try again in a moment."
	case errors.Is(err, ErrBroken):
		return "The picture could not be read: the file is damaged or not really an image."
	}
	return ""
}

// Process reads an upload of at most maxBytes and returns the PNG
// thumbnail.
func Process(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("avatar: read upload: %w", err)
	}
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	if int64(len(data)) > maxBytes {
		return nil, ErrTooLarge
	}
	var decode func(io.Reader) (image.Image, error)
	var config func(io.Reader) (image.Config, error)
	format := Sniff(data)
	switch format {
	case "image/jpeg":
		decode, config = jpeg.Decode, jpeg.DecodeConfig
	case "image/png":
		decode, config = png.Decode, png.DecodeConfig
	case "image/webp":
		decode, config = webp.Decode, webp.DecodeConfig
	default:
		return nil, ErrFormat
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrBroken
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	if pixels > maxPixels || pixels*bytesPerPixel(format, cfg.ColorModel, data) > maxDecodeBytes {
		return nil, ErrPixels
	}
	timer := time.NewTimer(decodeWait)
	defer timer.Stop()
	select {
	case decodes <- struct{}{}:
	case <-timer.C:
		return nil, ErrBusy
	}
	defer func() { <-decodes }()
	if decodeHook != nil {
		decodeHook()
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, ErrBroken
	}
	var out bytes.Buffer
	if err := png.Encode(&out, Thumbnail(img, Size)); err != nil {
		return nil, fmt.Errorf("avatar: encode: %w", err)
	}
	return out.Bytes(), nil
}

// bytesPerPixel is what decoding a picture of format and colour model
// takes per pixel, at most: the decoded image and, for a progressive JPEG,
// the coefficients it keeps until the last scan (a 32-bit integer per
// coefficient of each component).
func bytesPerPixel(format string, model color.Model, data []byte) int64 {
	var n int64
	switch model {
	case color.RGBA64Model, color.NRGBA64Model:
		n = 8
	case color.Gray16Model:
		n = 2
	case color.GrayModel, color.AlphaModel:
		n = 1
	case color.YCbCrModel:
		n = 3
	default: // RGBA, NRGBA, CMYK, palettes
		n = 4
	}
	if format == "image/jpeg" && progressiveJPEG(data) {
		n += 4 * 4 // up to four components
	}
	return n
}

// progressiveJPEG reports whether data holds a progressive frame (SOF2)
// before its first scan.
func progressiveJPEG(data []byte) bool {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return false
		}
		marker := data[i+1]
		switch marker {
		case 0xC2, 0xC6, 0xCA, 0xCE:
			return true
		case 0xDA: // start of scan: the frame was not progressive
			return false
		case 0xFF: // fill byte
			i++
			continue
		}
		i += 2 + int(data[i+2])<<8 + int(data[i+3])
	}
	return false
}

// Sniff names the image format of data by its magic bytes: image/jpeg,
// image/png, image/webp, or "" for anything else.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// Thumbnail centre-crops img to a square and scales it to size×size. A
// large picture is first halved cheaply (bilinear) to 4×size, so the
// Catmull-Rom pass, whose work and buffers grow with the source, stays
// small.
func Thumbnail(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	src := img
	crop := image.Rect(x0, y0, x0+side, y0+side)
	if side > 4*size {
		mid := image.NewRGBA(image.Rect(0, 0, 4*size, 4*size))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, crop, draw.Src, nil)
		src, crop = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, draw.Over, nil)
	return dst
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
