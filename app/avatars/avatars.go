// Package avatars turns an uploaded profile picture into the square
// thumbnail Licensor keeps, and stores it (product.md §3, §10: checked by
// content and size, re-encoded, names never reach the file system).
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
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Size is the side of the stored thumbnail, in pixels.
const Size = 256

// DefaultMaxBytes is the upload limit when none is configured.
const DefaultMaxBytes = 2 << 20

// maxPixels bounds the decoded picture (width × height) so a small file
// claiming huge dimensions cannot exhaust memory.
const maxPixels = 40_000_000

// Errors of Process; Message gives each its text for the form.
var (
	ErrEmpty    = errors.New("avatar: no file")
	ErrTooLarge = errors.New("avatar: file too large")
	ErrFormat   = errors.New("avatar: not a JPEG, PNG or WebP image")
	ErrBroken   = errors.New("avatar: image cannot be read")
	// ErrPixels is a picture whose header declares more than maxPixels:
	// refused from the header alone, before decoding (a decompression
	// bomb is a few kilobytes).
	ErrPixels = errors.New("avatar: too many pixels")
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
		return fmt.Sprintf("The picture is too large: at most %d megapixels.", maxPixels/1_000_000)
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
	switch Sniff(data) {
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
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, ErrPixels
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

// Thumbnail centre-crops img to a square and scales it to size×size.
func Thumbnail(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, image.Rect(x0, y0, x0+side, y0+side), draw.Over, nil)
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
