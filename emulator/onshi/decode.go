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

	"github.com/mynaconform/mynaconform/formats/onshi/api"
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
	sc := &keyScanner{b: body}
	sc.space()
	if sc.i < len(sc.b) {
		if err := sc.value(reflect.TypeOf(v), ""); err != nil {
			return err
		}
		if sc.bad {
			return decodeErr(json.Unmarshal(body, v)) // the decoder names the syntax error
		}
		if sc.space(); sc.i < len(sc.b) {
			return api.New(api.CodeMultipleJSONValues, "")
		}
	}
	// The shape is known good: decode for real (types, base64, ...).
	dec := json.NewDecoder(bytes.NewReader(body))
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

// keyScanner reads one JSON value checking every object's keys against the request type: a
// key may appear once per object, and for struct types it must be a field's exact name. It only
// reads keys (the values are skipped, not decoded): the decoder that runs after it checks
// everything else. On malformed JSON it stops and sets bad.
type keyScanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *keyScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// str skips a string at s.i and returns its raw bytes, quotes included.
func (s *keyScanner) str() []byte {
	start := s.i
	s.i++ // the opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return s.b[start:s.i]
		default:
			s.i++
		}
	}
	s.bad = true
	return nil
}

// value skips one value at s.i, checking the keys of objects against t (nil: not described).
func (s *keyScanner) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s.space()
	if s.i >= len(s.b) {
		s.bad = true
		return nil
	}
	switch s.b[s.i] {
	case '"':
		s.str()
	case '[':
		s.i++
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for s.space(); s.i < len(s.b) && s.b[s.i] != ']'; {
			if err := s.value(elem, path+"[]"); err != nil || s.bad {
				return err
			}
			if s.space(); s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
			s.space()
		}
		s.i++
	case '{':
		s.i++
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = fieldsOf(t)
		}
		seen := map[string]bool{}
		for s.space(); s.i < len(s.b) && s.b[s.i] != '}'; {
			if s.b[s.i] != '"' {
				s.bad = true
				return nil
			}
			raw := s.str()
			if s.bad {
				return nil
			}
			key := string(raw[1 : len(raw)-1])
			if bytes.IndexByte(raw, '\\') >= 0 {
				if json.Unmarshal(raw, &key) != nil {
					s.bad = true
					return nil
				}
			}
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
			if s.space(); s.i >= len(s.b) || s.b[s.i] != ':' {
				s.bad = true
				return nil
			}
			s.i++
			if err := s.value(ft, name); err != nil || s.bad {
				return err
			}
			if s.space(); s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
			s.space()
		}
		s.i++
	default: // number, true, false, null: up to the next delimiter
		start := s.i
		for s.i < len(s.b) && !bytes.ContainsRune([]byte(",]} \t\r\n"), rune(s.b[s.i])) {
			s.i++
		}
		if s.i == start {
			s.bad = true
		}
	}
	if s.i > len(s.b) {
		s.bad = true
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
