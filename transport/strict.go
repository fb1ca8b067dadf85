package transport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// checkRaw walks a body that encoding/json has already accepted and refuses
// what encoding/json lets through silently: invalid UTF-8 in strings (it
// would be replaced with U+FFFD), field names that match a struct's json
// name only case-insensitively, and a field given twice in one object (the
// last would win). The walk needs no syntax checks of its own: the body is
// known to be valid JSON. It allocates only for escaped keys and the first
// visit of a struct type.
func checkRaw(data []byte, t reflect.Type) error {
	_, err := walkValue(data, skipSpace(data, 0), t, bodyField)
	return err
}

var bodyField = []byte("body")

func walkValue(data []byte, i int, t reflect.Type, field []byte) (int, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch data[i] {
	case '{':
		return walkObject(data, i, t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		i = skipSpace(data, i+1)
		if data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = walkValue(data, i, elem, field); err != nil {
				return 0, err
			}
			i = skipSpace(data, i)
			if data[i] == ']' {
				return i + 1, nil
			}
			i = skipSpace(data, i+1) // ','
		}
	case '"':
		end, _ := stringEnd(data, i)
		if !validText(data[i+1 : end]) {
			return 0, kitshop.InvalidArgument(string(field), "must be valid UTF-8")
		}
		return end + 1, nil
	}
	for i < len(data) && !strings.ContainsRune(",]} \t\r\n", rune(data[i])) {
		i++
	}
	return i, nil
}

func walkObject(data []byte, i int, t reflect.Type) (int, error) {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	var seenBuf [16][]byte // objects have few fields: a slice beats a map
	seen := seenBuf[:0]
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return i + 1, nil
	}
	for {
		end, escaped := stringEnd(data, i)
		raw := data[i+1 : end]
		if !validText(raw) {
			return 0, kitshop.InvalidArgument("body", "field names must be valid UTF-8")
		}
		key := raw
		if escaped {
			var k string
			_ = json.Unmarshal(data[i:end+1], &k)
			key = []byte(k)
		}
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[string(key)]; !ok {
				return 0, kitshop.InvalidArgument(string(key), "unknown field (names match exactly)")
			}
		}
		for _, s := range seen {
			if bytes.Equal(s, key) {
				return 0, kitshop.InvalidArgument(string(key), "appears more than once")
			}
		}
		seen = append(seen, key)
		i = skipSpace(data, end+1)
		i = skipSpace(data, i+1) // ':'
		var err error
		if i, err = walkValue(data, i, ft, key); err != nil {
			return 0, err
		}
		i = skipSpace(data, i)
		if data[i] == '}' {
			return i + 1, nil
		}
		i = skipSpace(data, i+1) // ','
	}
}

// validText tells whether the raw bytes of a JSON string are text as sent:
// valid UTF-8, and no \u escape of a lone or reversed UTF-16 surrogate,
// which encoding/json would silently turn into U+FFFD. The body has passed
// encoding/json's syntax check, so every \u has four hex digits.
func validText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for j := 0; j < len(raw); j++ {
		if raw[j] != '\\' {
			continue
		}
		j++ // the escaped character
		if raw[j] != 'u' {
			continue
		}
		r := hex4(raw[j+1 : j+5])
		j += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate first
			return false
		case r >= 0xD800 && r <= 0xDBFF: // a high one needs a low one next
			if j+7 > len(raw) || raw[j+1] != '\\' || raw[j+2] != 'u' {
				return false
			}
			if low := hex4(raw[j+3 : j+7]); low < 0xDC00 || low > 0xDFFF {
				return false
			}
			j += 6
		}
	}
	return true
}

// hex4 is the value of four hex digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// stringEnd returns the index of the closing quote of the string opening at
// i, and whether the string holds escapes.
func stringEnd(data []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j, escaped
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

var structFields sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the exact json names of t's fields to their types, as
// encoding/json names them (tag name, else the Go name; "-" skipped;
// embedded structs' fields promoted).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := structFields.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || len(f.Index) > 1 && !promoted(t, f.Index) {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			continue // its fields are listed by VisibleFields
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	structFields.Store(t, m)
	return m
}

// promoted reports whether the field at index is reached through untagged
// embedded structs only, as encoding/json promotes.
func promoted(t reflect.Type, index []int) bool {
	for _, n := range index[:len(index)-1] {
		f := t.Field(n)
		if !f.Anonymous || f.Tag.Get("json") != "" {
			return false
		}
		t = f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	return true
}
