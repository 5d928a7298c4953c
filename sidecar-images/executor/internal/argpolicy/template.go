package argpolicy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"skillpod.io/executor/internal/clip"
)

// The argument template of a typed tool turns validated input into argv; the rules are the contract's
// (docs/ipc.md, "Typed tools"). Values only ever land where the pack author put a placeholder, and a value
// that would start an argument of its own with '-' is refused, so input can never become a flag.

const (
	maxGroups       = 32
	maxGroupElems   = 8
	maxElementChars = 1024
)

// placeholder is the exact syntax of a placeholder; other brace text ({.metadata.name}, {}) is literal.
var placeholder = regexp.MustCompile(`\{[a-zA-Z][a-zA-Z0-9_]{0,62}\}`)

// piece is a literal text or a parameter reference inside one template element.
type piece struct {
	text  string
	param string // non-empty: a placeholder
}

type element struct {
	pieces []piece
	flag   string // non-empty: the whole element is this boolean placeholder, which renders no argument
	bare   bool   // it starts with a value and is no flag's value: a leading '-' would make that value a flag
}

// group is one compiled template group.
type group struct {
	elems []element
	names []string // parameters it names, each once
	array string   // the array parameter it repeats over, if any
}

func parseElement(s string) []piece {
	var out []piece
	last := 0
	for _, m := range placeholder.FindAllStringIndex(s, -1) {
		if m[0] > last {
			out = append(out, piece{text: s[last:m[0]]})
		}
		out = append(out, piece{param: s[m[0]+1 : m[1]-1]})
		last = m[1]
	}
	if last < len(s) {
		out = append(out, piece{text: s[last:]})
	}
	return out
}

// compileTemplate checks the template against the schema: every placeholder declared, every parameter used,
// boolean placeholders whole elements, at most one array parameter per group.
func compileTemplate(args [][]string, s *schema, path string) ([]group, error) {
	if len(args) > maxGroups {
		return nil, fmt.Errorf("%s: %d groups, at most %d", path, len(args), maxGroups)
	}
	used := map[string]bool{}
	groups := make([]group, 0, len(args))
	for gi, raw := range args {
		gp := fmt.Sprintf("%s[%d]", path, gi)
		if len(raw) == 0 || len(raw) > maxGroupElems {
			return nil, fmt.Errorf("%s: a group has 1 to %d elements", gp, maxGroupElems)
		}
		g := group{}
		for ei, text := range raw {
			ep := fmt.Sprintf("%s[%d]", gp, ei)
			switch {
			case text == "":
				return nil, fmt.Errorf("%s: empty element", ep)
			case len([]rune(text)) > maxElementChars:
				return nil, fmt.Errorf("%s: longer than %d characters", ep, maxElementChars)
			case strings.IndexByte(text, 0) >= 0:
				return nil, fmt.Errorf("%s: contains a NUL byte", ep)
			}
			el := element{pieces: parseElement(text)}
			for _, pc := range el.pieces {
				if pc.param == "" {
					continue
				}
				p := s.params[pc.param]
				if p == nil {
					return nil, fmt.Errorf("%s: {%s} is not a declared parameter", ep, pc.param)
				}
				used[pc.param] = true
				if !slices.Contains(g.names, pc.param) {
					g.names = append(g.names, pc.param)
				}
				switch p.typ {
				case paramTypeBoolean:
					if len(el.pieces) != 1 {
						return nil, fmt.Errorf("%s: boolean {%s} must be a whole element (it renders no argument of its own)", ep, pc.param)
					}
					el.flag = pc.param
				case paramTypeArray:
					if g.array != "" && g.array != pc.param {
						return nil, fmt.Errorf("%s: at most one array parameter per group ({%s} and {%s})", ep, g.array, pc.param)
					}
					g.array = pc.param
				}
			}
			g.elems = append(g.elems, el)
		}
		// Bare positions: an element that starts with a value decides by that value whether its argument reads as
		// a flag, unless it directly follows a literal flag of the same group (then it is that flag's value, as in
		// ["--selector", "{labels}"]). So a leading '-' is refused there at render time. This covers the
		// contract's case (exactly "{p}" first in its group) and also "{a}:{b}", a group led by a boolean, and a
		// second value after a first one (["{resource}", "{name}"]), where the tool would parse a flag.
		afterFlag := false
		for ei := range g.elems {
			el := &g.elems[ei]
			if el.flag != "" {
				continue
			}
			el.bare = el.pieces[0].param != "" && !afterFlag
			afterFlag = len(el.pieces) == 1 && el.pieces[0].param == "" && strings.HasPrefix(el.pieces[0].text, "-")
		}
		if len(g.elems) == 1 && g.elems[0].flag != "" {
			return nil, fmt.Errorf("%s: a group with boolean {%s} needs the flag it stands for as another element", gp, g.elems[0].flag)
		}
		groups = append(groups, g)
	}
	for _, name := range slices.Sorted(maps.Keys(s.params)) {
		if !used[name] {
			return nil, fmt.Errorf("%s: parameter %q is declared but not used in args", path, name)
		}
	}
	return groups, nil
}

// render builds the arguments appended to the tool's command from validated values.
func render(groups []group, values map[string]value) ([]string, error) {
	argv := []string{}
	for gi, g := range groups {
		if !g.applies(values) {
			continue
		}
		repeat := []string{""}
		if g.array != "" {
			repeat = values[g.array].items
		}
		for _, item := range repeat {
			for ei, el := range g.elems {
				if el.flag != "" {
					continue
				}
				var b strings.Builder
				for _, pc := range el.pieces {
					switch {
					case pc.param == "":
						b.WriteString(pc.text)
					case pc.param == g.array:
						b.WriteString(item)
					default:
						b.WriteString(values[pc.param].String())
					}
				}
				arg := b.String()
				if el.bare && strings.HasPrefix(arg, "-") {
					lead := el.pieces[0].param
					return nil, &InputError{Param: lead, Reason: fmt.Sprintf(
						"the value would start argument %q with '-', where the tool would read it as a flag "+
							"(element %d of args group %d, which follows no flag); values there may not start with '-'",
						clip.Text(arg, 80), ei, gi)}
				}
				argv = append(argv, arg)
			}
		}
	}
	return argv, nil
}

// applies: a group is dropped when a parameter it names is absent, or is a boolean that is false.
func (g group) applies(values map[string]value) bool {
	for _, n := range g.names {
		v, ok := values[n]
		if !ok || (v.typ == paramTypeBoolean && !v.b) {
			return false
		}
	}
	return true
}
