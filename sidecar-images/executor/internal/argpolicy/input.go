package argpolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"skillpod.io/executor/internal/clip"
	"skillpod.io/executor/internal/strictjson"
)

// Validation of a caller's JSON input against a typed tool's schema. Every refusal names the parameter,
// so an agent (or the model behind it) can correct its call.

// value is one validated input value.
type value struct {
	typ   string
	s     string
	i     int64
	b     bool
	items []string
}

func (v value) String() string {
	if v.typ == paramTypeInteger {
		return strconv.FormatInt(v.i, 10)
	}
	return v.s
}

// InputError refuses an input; Param is empty when the input as a whole is wrong.
type InputError struct {
	Param  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Param == "" {
		return "input refused: " + e.Reason
	}
	return fmt.Sprintf("input refused: parameter %q: %s", e.Param, e.Reason)
}

// validate checks raw (a JSON object, or absent) against the schema and returns the values by name.
func (s *schema) validate(raw json.RawMessage) (map[string]value, error) {
	obj := map[string]json.RawMessage{}
	if !strictjson.IsNull(raw) {
		if !strictjson.IsKind(raw, '{') || json.Unmarshal(raw, &obj) != nil {
			return nil, &InputError{Reason: "input must be a JSON object of parameters"}
		}
	}
	values := make(map[string]value, len(obj))
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		p := s.params[name]
		if p == nil {
			return nil, &InputError{Param: clip.Text(name, 80), Reason: "the tool has no such parameter" + s.known()}
		}
		v, reason := p.check(obj[name])
		if reason != "" {
			return nil, &InputError{Param: name, Reason: reason}
		}
		values[name] = v
	}
	for _, name := range s.required {
		if _, ok := values[name]; !ok {
			return nil, &InputError{Param: name, Reason: "required, missing"}
		}
	}
	return values, nil
}

func (s *schema) known() string {
	if len(s.params) == 0 {
		return " (it takes none)"
	}
	return " (it has: " + strings.Join(slices.Sorted(maps.Keys(s.params)), ", ") + ")"
}

// check validates one value; a non-empty reason refuses it.
func (p *param) check(raw json.RawMessage) (value, string) {
	v := value{typ: p.typ}
	switch p.typ {
	case paramTypeString:
		if !strictjson.IsKind(raw, '"') || json.Unmarshal(raw, &v.s) != nil {
			return v, "want a string" + got(raw)
		}
		return v, p.checkString(v.s)
	case paramTypeInteger:
		n, err := strictjson.Int(raw)
		if err != nil {
			return v, err.Error() + got(raw)
		}
		switch {
		case p.min != nil && n < *p.min:
			return v, fmt.Sprintf("%d is below the minimum %d", n, *p.min)
		case p.max != nil && n > *p.max:
			return v, fmt.Sprintf("%d is above the maximum %d", n, *p.max)
		}
		v.i = n
	case paramTypeBoolean:
		switch t := strings.TrimSpace(string(raw)); t {
		case "true", "false":
			v.b = t == "true"
		default:
			return v, "want true or false" + got(raw)
		}
	case paramTypeArray:
		var items []json.RawMessage
		if !strictjson.IsKind(raw, '[') || json.Unmarshal(raw, &items) != nil {
			return v, "want an array of strings" + got(raw)
		}
		if len(items) > p.maxItems {
			return v, fmt.Sprintf("%d items, at most %d", len(items), p.maxItems)
		}
		v.items = make([]string, len(items))
		for i, it := range items {
			if !strictjson.IsKind(it, '"') || json.Unmarshal(it, &v.items[i]) != nil {
				return v, fmt.Sprintf("item %d: want a string%s", i, got(it))
			}
			if r := p.items.checkString(v.items[i]); r != "" {
				return v, fmt.Sprintf("item %d: %s", i, r)
			}
		}
	}
	return v, ""
}

// checkString applies a string schema. NUL is refused whatever the schema says: execve cannot pass it.
func (p *param) checkString(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case p.enum != nil && !slices.Contains(p.enum, s):
		return fmt.Sprintf("%q is not one of %s", clip.Text(s, 80), clip.Text(strings.Join(quoteAll(p.enum), ", "), 400))
	case n < p.minLen:
		return fmt.Sprintf("%d characters, at least %d", n, p.minLen)
	case p.maxLen >= 0 && n > p.maxLen:
		return fmt.Sprintf("%d characters, at most %d", n, p.maxLen)
	case p.pattern != nil && !p.pattern.MatchString(s):
		return fmt.Sprintf("%q does not match the pattern %q", clip.Text(s, 80), p.pattern.String())
	}
	return ""
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}

// got describes what a caller sent instead, briefly.
func got(raw json.RawMessage) string {
	return ", got " + clip.Text(strings.TrimSpace(string(raw)), 40)
}
