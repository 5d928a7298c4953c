package argpolicy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"skillpod.io/executor/internal/clip"
	"skillpod.io/executor/internal/wire"
)

// allowedFlags: an allowlist instead of a denylist. Every argument that starts with '-' must be one of the
// listed flags, in a form the tool's parser reads the same way we do; a flag that takes a value consumes it
// (attached or as the next argument) and the value must match the flag's pattern in full. What remains are
// positional arguments, which allowedPatterns then checks. Abbreviations are never accepted, whatever the
// parser: an allowlist entry is matched as written, so "--ta" does not stand for "--tail".

const maxAllowedFlags = 128

type allowedFlag struct {
	spelled string
	value   *regexp.Regexp // nil: the flag takes no value
}

type allowlist struct {
	long  map[string]*allowedFlag // "--name" and single-dash "-name" (two or more characters), as written
	short map[rune]*allowedFlag   // "-n"
}

// flagSyntax is what the CRD accepts as a flag: dashes, then no '=', no space.
var flagSyntax = regexp.MustCompile(`^-+[^-\s=][^\s=]*$`)

func compileAllowlist(list []wire.AllowedFlag) (*allowlist, error) {
	if len(list) > maxAllowedFlags {
		return nil, fmt.Errorf("%d flags, at most %d", len(list), maxAllowedFlags)
	}
	al := &allowlist{long: map[string]*allowedFlag{}, short: map[rune]*allowedFlag{}}
	for i, f := range list {
		if !flagSyntax.MatchString(f.Flag) {
			return nil, fmt.Errorf("[%d].flag %q is not a flag (want -x, --name or -name, without '=')", i, f.Flag)
		}
		af := &allowedFlag{spelled: f.Flag}
		if f.Value != nil {
			// Compile alone first so that "a)|(b" cannot change meaning once wrapped in the anchors.
			if _, err := regexp.Compile(*f.Value); err != nil {
				return nil, fmt.Errorf("[%d].value: %w", i, err)
			}
			af.value = regexp.MustCompile(`^(?:` + *f.Value + `)$`)
		}
		name := strings.TrimPrefix(f.Flag, "-")
		if r := []rune(name); len(r) == 1 {
			if al.short[r[0]] != nil {
				return nil, fmt.Errorf("[%d]: %s listed twice", i, f.Flag)
			}
			al.short[r[0]] = af
			continue
		}
		if al.long[f.Flag] != nil {
			return nil, fmt.Errorf("[%d]: %s listed twice", i, f.Flag)
		}
		al.long[f.Flag] = af
	}
	return al, nil
}

// walk checks args against the allowlist and marks the positional ones (not flags, not flag values).
func (al *allowlist) walk(args []string, pflag bool, positional []bool) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || !strings.HasPrefix(a, "-"):
			positional[i] = true // "-" is a file name (stdin) by convention
			continue
		case a == "--":
			return refusedArg(i, a, "the tool has an allowlist of flags, and after \"--\" it would take flags as "+
				"positional arguments, which some tools hand on to another parser")
		}
		next, reason := al.flag(args, i, pflag)
		if reason != "" {
			return refusedArg(i, a, reason)
		}
		if next > i {
			// The value came as the next argument: check it there, so the refusal names it.
			if r := al.valueReason(args, i, next); r != "" {
				return refusedArg(next, args[next], r)
			}
			i = next
		}
	}
	return nil
}

// flag checks the flag argument args[i]. It returns the index of a separate value argument (i when there is
// none) or the reason for refusing args[i].
func (al *allowlist) flag(args []string, i int, pflag bool) (int, string) {
	a := args[i]
	spelled, val, hasVal := strings.Cut(a, "=")
	f := al.long[spelled]
	if f == nil && strings.HasPrefix(a, "--") {
		return i, al.unknownLong(spelled)
	}
	if f != nil {
		switch {
		case hasVal && f.value == nil:
			return i, fmt.Sprintf("%s takes no value", f.spelled)
		case hasVal:
			return i, valueMismatch(f, val)
		case f.value == nil:
			return i, ""
		case i+1 >= len(args):
			return i, fmt.Sprintf("%s needs a value, and none follows", f.spelled)
		}
		return i + 1, ""
	}
	// A single dash: a group of short flags ("-vf"), the last of which may take a value attached ("-n5") or
	// the next argument. getopt and pflag both read groups this way.
	body := []rune(a[1:])
	for k, c := range body {
		f := al.short[c]
		if f == nil {
			if len(body) == 1 {
				return i, fmt.Sprintf("-%c is not an allowed flag", c)
			}
			return i, fmt.Sprintf("-%c (in the short-flag group %q) is not an allowed flag", c, clip.Text(a, 40))
		}
		if f.value == nil {
			continue
		}
		rest := string(body[k+1:])
		if rest == "" {
			if i+1 >= len(args) {
				return i, fmt.Sprintf("%s needs a value, and none follows", f.spelled)
			}
			return i + 1, ""
		}
		if pflag {
			rest = strings.TrimPrefix(rest, "=") // pflag reads "-n=5" as 5; getopt as "=5"
		}
		return i, valueMismatch(f, rest)
	}
	return i, ""
}

func (al *allowlist) valueReason(args []string, flagAt, valueAt int) string {
	spelled, _, _ := strings.Cut(args[flagAt], "=")
	f := al.long[spelled]
	if f == nil { // a short flag group ending in a flag that takes a value
		body := []rune(args[flagAt])
		f = al.short[body[len(body)-1]]
	}
	return valueMismatch(f, args[valueAt])
}

func valueMismatch(f *allowedFlag, v string) string {
	if f.value.MatchString(v) {
		return ""
	}
	return fmt.Sprintf("the value %q of %s does not match %q", clip.Text(v, 80), f.spelled, f.value.String())
}

func (al *allowlist) unknownLong(spelled string) string {
	for _, name := range slices.Sorted(maps.Keys(al.long)) {
		if strings.HasPrefix(name, spelled) && len(spelled) > 2 {
			return fmt.Sprintf("%s is not an allowed flag (abbreviations are not accepted: write %s in full)", spelled, name)
		}
	}
	return fmt.Sprintf("%s is not an allowed flag", spelled)
}
