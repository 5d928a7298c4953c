package argpolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"unicode/utf8"

	"skillpod.io/executor/internal/strictjson"
)

// The parameters of a typed tool: the JSON Schema subset of the contract (docs/ipc.md, "Typed tools"), and
// nothing else. A keyword this executor does not implement is refused at start: a schema it only partly
// understood would let through input its author meant to refuse.

const (
	maxParameters    = 32
	maxDescription   = 1024
	maxEnum          = 256
	maxEnumValue     = 1024
	maxLengthBound   = 1 << 20
	maxArrayItems    = 256 // the bound of maxItems, and the limit when an array parameter sets none
	paramTypeString  = "string"
	paramTypeInteger = "integer"
	paramTypeBoolean = "boolean"
	paramTypeArray   = "array"
)

var paramName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,62}$`)

// param is one compiled parameter (or the items of an array parameter).
type param struct {
	name     string
	typ      string
	enum     []string
	pattern  *regexp.Regexp // unanchored search, as JSON Schema says
	minLen   int
	maxLen   int // -1: no bound
	min, max *int64
	items    *param
	maxItems int
}

// schema is a tool's compiled parameters.
type schema struct {
	params   map[string]*param
	required []string
}

// Keywords each parameter type accepts besides type and description.
var typeKeywords = map[string][]string{
	paramTypeString:  {"enum", "pattern", "minLength", "maxLength"},
	paramTypeInteger: {"minimum", "maximum"},
	paramTypeBoolean: {},
	paramTypeArray:   {"items", "maxItems"},
}

func parseSchema(raw json.RawMessage, path string) (*schema, error) {
	top, err := strictjson.Object(raw, path, "type", "properties", "required")
	if err != nil {
		return nil, err
	}
	if t, err := strictjson.String(top["type"], path+".type"); err != nil || t != "object" {
		return nil, fmt.Errorf(`%s.type: must be "object"`, path)
	}
	if top["properties"] == nil {
		return nil, fmt.Errorf("%s.properties: required (an object of parameters, possibly empty)", path)
	}
	var props map[string]json.RawMessage
	if !strictjson.IsKind(top["properties"], '{') || json.Unmarshal(top["properties"], &props) != nil {
		return nil, fmt.Errorf("%s.properties: want an object of parameters", path)
	}
	if len(props) > maxParameters {
		return nil, fmt.Errorf("%s.properties: %d parameters, at most %d", path, len(props), maxParameters)
	}
	s := &schema{params: map[string]*param{}}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		p := path + ".properties." + name
		if !paramName.MatchString(name) {
			return nil, fmt.Errorf("%s: a parameter name starts with a letter and holds only letters, digits and _ (at most 63)", p)
		}
		pp, err := parseParam(props[name], p, name, false)
		if err != nil {
			return nil, err
		}
		s.params[name] = pp
	}
	if raw := top["required"]; raw != nil {
		req, err := strictjson.Strings(raw, path+".required")
		if err != nil {
			return nil, err
		}
		for i, r := range req {
			switch {
			case s.params[r] == nil:
				return nil, fmt.Errorf("%s.required[%d]: %q is not a declared parameter", path, i, r)
			case slices.Contains(req[:i], r):
				return nil, fmt.Errorf("%s.required[%d]: %q is listed twice", path, i, r)
			}
		}
		s.required = req
	}
	return s, nil
}

// parseParam compiles one parameter; asItems restricts it to what array items may be (a string).
func parseParam(raw json.RawMessage, path, name string, asItems bool) (*param, error) {
	all := []string{"type", "description", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "items", "maxItems"}
	m, err := strictjson.Object(raw, path, all...)
	if err != nil {
		return nil, err
	}
	typ, err := strictjson.String(m["type"], path+".type")
	if err != nil {
		return nil, fmt.Errorf("%s.type: required, one of string, integer, boolean, array", path)
	}
	allowed, known := typeKeywords[typ]
	if !known {
		return nil, fmt.Errorf("%s.type: %q is not one of string, integer, boolean, array", path, typ)
	}
	if asItems && typ != paramTypeString {
		return nil, fmt.Errorf("%s.type: array items must be strings", path)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "type" && k != "description" && !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s.%s: does not apply to %s parameters", path, k, typ)
		}
	}
	p := &param{name: name, typ: typ, maxLen: -1, maxItems: maxArrayItems}
	if raw := m["description"]; raw != nil {
		d, err := strictjson.String(raw, path+".description")
		if err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(d) > maxDescription {
			return nil, fmt.Errorf("%s.description: longer than %d characters", path, maxDescription)
		}
	}
	switch typ {
	case paramTypeString:
		err = p.parseString(m, path)
	case paramTypeInteger:
		err = p.parseInteger(m, path)
	case paramTypeArray:
		err = p.parseArray(m, path)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *param) parseString(m map[string]json.RawMessage, path string) error {
	if raw := m["enum"]; raw != nil {
		enum, err := strictjson.Strings(raw, path+".enum")
		if err != nil {
			return err
		}
		if len(enum) == 0 || len(enum) > maxEnum {
			return fmt.Errorf("%s.enum: want 1 to %d values", path, maxEnum)
		}
		for i, v := range enum {
			if utf8.RuneCountInString(v) > maxEnumValue {
				return fmt.Errorf("%s.enum[%d]: longer than %d characters", path, i, maxEnumValue)
			}
		}
		p.enum = enum
	}
	if raw := m["pattern"]; raw != nil {
		s, err := strictjson.String(raw, path+".pattern")
		if err != nil {
			return err
		}
		if p.pattern, err = regexp.Compile(s); err != nil {
			return fmt.Errorf("%s.pattern: %w", path, err)
		}
	}
	for _, k := range []string{"minLength", "maxLength"} {
		raw := m[k]
		if raw == nil {
			continue
		}
		n, err := strictjson.Int(raw)
		if err != nil || n < 0 || n > maxLengthBound {
			return fmt.Errorf("%s.%s: want an integer between 0 and %d", path, k, maxLengthBound)
		}
		if k == "minLength" {
			p.minLen = int(n)
		} else {
			p.maxLen = int(n)
		}
	}
	if p.maxLen >= 0 && p.minLen > p.maxLen {
		return fmt.Errorf("%s: minLength must not exceed maxLength", path)
	}
	return nil
}

func (p *param) parseInteger(m map[string]json.RawMessage, path string) error {
	for _, k := range []string{"minimum", "maximum"} {
		raw := m[k]
		if raw == nil {
			continue
		}
		n, err := strictjson.Int(raw)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", path, k, err)
		}
		if k == "minimum" {
			p.min = &n
		} else {
			p.max = &n
		}
	}
	if p.min != nil && p.max != nil && *p.min > *p.max {
		return fmt.Errorf("%s: minimum must not exceed maximum", path)
	}
	return nil
}

func (p *param) parseArray(m map[string]json.RawMessage, path string) error {
	if m["items"] == nil {
		return fmt.Errorf("%s.items: required for array parameters (a string schema)", path)
	}
	items, err := parseParam(m["items"], path+".items", p.name, true)
	if err != nil {
		return err
	}
	p.items = items
	if raw := m["maxItems"]; raw != nil {
		n, err := strictjson.Int(raw)
		if err != nil || n < 0 || n > maxArrayItems {
			return fmt.Errorf("%s.maxItems: want an integer between 0 and %d", path, maxArrayItems)
		}
		p.maxItems = int(n)
	}
	return nil
}
