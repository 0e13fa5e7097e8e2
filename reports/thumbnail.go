package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/png"

	jpeg2000 "github.com/ajroetker/go-jpeg2000"
	"golang.org/x/image/draw"
)

// Limits for decoding a face photo: the chip photo is a few KB (docs/card.md: EF 0002 is at most
// about 8 KB), so anything far larger is not a card photo and is not decoded.
const (
	maxPhotoBytes = 1 << 20
	maxPhotoSide  = 1024
	// ThumbHeight is the height in pixels of the face-photo thumbnail on the HTML page.
	ThumbHeight = 120
)

// Thumbnail decodes a face photo (JPEG 2000, JP2 or raw codestream, as in DF27 of the card-face
// record) and returns it as a greyscale PNG scaled to ThumbHeight pixels high: the monochrome
// picture the staff compare with the patient in the visual mode. Malformed input gives an
// error, never a panic: the codestream's header is checked before the decoder sees it (see
// checkCodestream), and the decoder runs under recover. Only the codestream is decoded; JP2
// colour boxes are ignored, as the chip photo is greyscale.
func Thumbnail(photo []byte) (pngData []byte, err error) {
	if len(photo) == 0 {
		return nil, errors.New("reports: no face photo")
	}
	if len(photo) > maxPhotoBytes {
		return nil, fmt.Errorf("reports: face photo of %d bytes is too large", len(photo))
	}
	// The decoder is third-party code fed with bytes read from a card: a panic in it must
	// not take the whole report down.
	defer func() {
		if p := recover(); p != nil {
			pngData, err = nil, fmt.Errorf("reports: face photo undecodable (decoder panic: %v)", p)
		}
	}()
	cs, err := codestreamOf(photo)
	if err != nil {
		return nil, err
	}
	if err := checkCodestream(cs); err != nil {
		return nil, err
	}
	img, err := jpeg2000.Decode(bytes.NewReader(cs))
	if err != nil {
		return nil, fmt.Errorf("reports: face photo: %w", err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, errors.New("reports: face photo is empty")
	}
	h := ThumbHeight
	w := max(1, (b.Dx()*h+b.Dy()/2)/b.Dy())
	thumb := image.NewGray(image.Rect(0, 0, w, h))
	// The chip photo is monochrome (docs/card.md); converting to Gray shows it as the app does.
	draw.CatmullRom.Scale(thumb, thumb.Bounds(), img, b, draw.Src, nil)
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, thumb); err != nil {
		return nil, fmt.Errorf("reports: encode thumbnail: %w", err)
	}
	return out.Bytes(), nil
}

// thumbCache decodes each distinct photo once per page: on the emulator every device reads the
// same persona's photo.
type thumbCache map[[sha256.Size]byte]thumbResult

type thumbResult struct {
	uri template.URL
	err string
}

func (c thumbCache) get(photo []byte) thumbResult {
	key := sha256.Sum256(photo)
	if t, ok := c[key]; ok {
		return t
	}
	var t thumbResult
	if p, err := Thumbnail(photo); err != nil {
		t.err = err.Error()
	} else {
		// Safe as a URL: built here from base64 only.
		t.uri = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p))
	}
	c[key] = t
	return t
}
