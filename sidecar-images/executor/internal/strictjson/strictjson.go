// Package strictjson reads SKILLPOD_TOOLS and callers' input strictly. encoding/json matches field names
// without regard to case and keeps the last of duplicate keys; for a security policy both are ways to smuggle in
// a second, different value, so the executor reads objects key by key and refuses what it does not know.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Object decodes raw as a JSON object and refuses any key outside allowed; path names the object in errors.
func Object(raw json.RawMessage, path string, allowed ...string) (map[string]json.RawMessage, error) {
	if !IsKind(raw, '{') {
		return nil, fmt.Errorf("%s: want an object", path)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s: unknown field %q", path, k)
		}
	}
	return m, nil
}

// IsKind reports whether raw is a JSON value that starts with c ('{', '[', '"'). It matters because
// json.Unmarshal of null into a string or slice succeeds and leaves the zero value.
func IsKind(raw json.RawMessage, c byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == c
}

// IsNull reports whether raw is absent or the JSON null.
func IsNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// String reads a JSON string; path names it in the error.
func String(raw json.RawMessage, path string) (string, error) {
	var s string
	if !IsKind(raw, '"') || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s: want a string", path)
	}
	return s, nil
}

// Strings reads a JSON array of strings; path names it in errors.
func Strings(raw json.RawMessage, path string) ([]string, error) {
	var items []json.RawMessage
	if !IsKind(raw, '[') || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("%s: want an array of strings", path)
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, err := String(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// integral is the syntax of a JSON number whose value is an integer: no exponent (which could ask for a
// number with a billion digits), an optional fraction of zeros ("5.0" is the integer 5 in JSON Schema).
var integral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.0+)?$`)

// Int reads an integral JSON number that fits in an int64.
func Int(raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if !integral.MatchString(s) {
		if len(s) > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
			return 0, errors.New("want an integer (a number without fraction or exponent)")
		}
		return 0, errors.New("want an integer")
	}
	whole, _, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errors.New("integer out of range")
	}
	return n, nil
}

// NoDuplicateKeys walks a JSON document and refuses an object that names a key twice: decoders disagree on
// which one counts (the API server, the operator, this executor), so a duplicate could hide a restriction.
func NoDuplicateKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[k] {
					return fmt.Errorf("%s: duplicate field %q", path, k)
				}
				seen[k] = true
				if err := walk(path + "." + k); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// Decode decodes raw into v refusing duplicate keys and fields v does not have.
func Decode(raw json.RawMessage, v any) error {
	if err := NoDuplicateKeys(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
