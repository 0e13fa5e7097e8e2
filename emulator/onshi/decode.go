package onshi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
)

// Strict decoding of request bodies (API.md, Conventions): exactly one JSON value of at most
// Config.MaxBodyBytes, media type application/json with no charset other than UTF-8, valid UTF-8
// (no invalid bytes, no lone surrogate escapes), and object keys that name a field of the
// endpoint's request exactly: encoding/json alone would match keys case-insensitively
// ("USER_ID" for user_id), keep the last of duplicate keys and turn invalid UTF-8 into U+FFFD.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return api.New(api.CodeUnsupportedMediaType, "")
		}
		for k, val := range params {
			if k != "charset" {
				return api.Newf(api.CodeUnsupportedMediaType, "unknown media type parameter %q", k)
			}
			if !strings.EqualFold(val, "utf-8") {
				return api.New(api.CodeBodyNotUTF8, "the charset must be utf-8")
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return api.New(api.CodeBodyTooLarge, fmt.Sprintf("limit %d bytes", mbe.Limit))
		}
		return api.New(api.CodeMalformedJSON, "the body could not be read")
	}
	return decodeBody(body, v)
}

// decodeBody is decode after the transport checks: body is the whole request body.
func decodeBody(body []byte, v any) error {
	if !utf8.Valid(body) {
		return api.New(api.CodeBodyNotUTF8, "invalid UTF-8 bytes")
	}
	if err := checkEscapes(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := walkValue(dec, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return api.New(api.CodeMultipleJSONValues, "")
	}
	// The shape is known good: decode for real (types, base64, ...).
	dec = json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	return nil
}

// checkEscapes refuses \u escapes that are lone UTF-16 surrogates (json would turn them into
// U+FFFD). A backslash occurs in valid JSON only inside strings, so a byte scan suffices.
func checkEscapes(b []byte) error {
	hex4 := func(i int) (rune, bool) {
		if i+4 > len(b) {
			return 0, false
		}
		var r rune
		for _, c := range b[i : i+4] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character (also an escaped backslash)
			continue
		}
		r, ok := hex4(i + 2)
		if !ok {
			continue // the decoder reports the syntax error
		}
		i += 5
		switch {
		case r >= 0xD800 && r <= 0xDBFF: // high surrogate: a low one must follow
			if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				if lo, ok := hex4(i + 3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return api.New(api.CodeBodyNotUTF8, "a lone UTF-16 surrogate escape")
		case r >= 0xDC00 && r <= 0xDFFF:
			return api.New(api.CodeBodyNotUTF8, "a lone UTF-16 surrogate escape")
		}
	}
	return nil
}

// fieldsOf maps the exact JSON names of a struct type's fields to their types.
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

// walkValue reads one JSON value from dec, checking every object's keys against t: duplicates
// are refused, and for struct types every key must be a field's exact name. t may be nil (a
// value the request type does not describe; the decoder then reports the type error).
func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return decodeErr(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkValue(dec, elem, path+"[]"); err != nil {
				return err
			}
		}
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = fieldsOf(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return decodeErr(err)
			}
			key, _ := kt.(string)
			name := key
			if path != "" {
				name = path + "." + key
			}
			if seen[key] {
				return api.Newf(api.CodeDuplicateField, "field %q", name)
			}
			seen[key] = true
			var ft reflect.Type
			if fields != nil {
				var known bool
				if ft, known = fields[key]; !known {
					return api.Newf(api.CodeUnknownField, "unknown field %q (names are case-sensitive)", name)
				}
			}
			if err := walkValue(dec, ft, name); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return decodeErr(err)
	}
	return nil
}

func decodeErr(err error) error {
	var ae *api.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, io.EOF):
		return api.New(api.CodeMalformedJSON, "empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.New(api.CodeMalformedJSON, "truncated JSON")
	case errors.As(err, &se):
		return api.New(api.CodeMalformedJSON, fmt.Sprintf("syntax error at byte %d", se.Offset))
	case errors.As(err, &te):
		return api.New(api.CodeMalformedJSON, fmt.Sprintf("field %q: want %s", te.Field, te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return api.New(api.CodeUnknownField, strings.TrimPrefix(err.Error(), "json: "))
	}
	// Other decoder errors (bad base64, ...) are still the client's input.
	return api.New(api.CodeMalformedJSON, "invalid value")
}
