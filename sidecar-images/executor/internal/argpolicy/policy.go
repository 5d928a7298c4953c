package argpolicy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"skillpod.io/executor/internal/clip"
	"skillpod.io/executor/internal/wire"
)

// The argument policy is a denylist of flags plus optional patterns. A denylist of flags can only work if it
// catches every spelling the tool would accept, and we do not know the tool's parser or its full option set.
// So each check below over-approximates: it refuses every spelling that some common parser (GNU getopt_long,
// getopt_long_only, Go's flag package, spf13/pflag with kubectl's '_'→'-' normalisation) could read as the
// denied flag. The cost is an occasional false refusal, which the error message explains how to avoid.

// policy is the compiled form of an ArgPolicy.
type policy struct {
	long    []deniedLong // denied flags whose name has two or more characters
	short   []rune       // denied single-character flags, case-sensitive
	allowed []*regexp.Regexp
	denied  []*regexp.Regexp
	flags   *allowlist // allowedFlags; nil when not set
	pflag   bool       // the tool parses flags like spf13/pflag: no abbreviations of long flags
	maxArgs int
}

const (
	parserGetopt = "getopt"
	parserPflag  = "pflag"
)

type deniedLong struct {
	spelled string // as the pack author wrote it, for messages
	norm    string // normalised name, see normFlag
}

// normFlag folds case and '_' to '-': pflag tools such as kubectl normalise "--as_group" to "--as-group", and
// some parsers are case-insensitive. Folding only ever refuses more.
func normFlag(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

func compilePolicy(p *wire.ArgPolicy) (policy, error) {
	rt := policy{maxArgs: defaultMaxArgs}
	if p == nil {
		return rt, nil
	}
	switch p.Parser {
	case "", parserGetopt:
	case parserPflag:
		rt.pflag = true
	default:
		return rt, fmt.Errorf("parser: %q is not getopt or pflag", p.Parser)
	}
	if p.AllowedFlags != nil {
		al, err := compileAllowlist(p.AllowedFlags)
		if err != nil {
			return rt, fmt.Errorf("allowedFlags: %w", err)
		}
		rt.flags = al
	}
	if p.MaxArgs != nil {
		if *p.MaxArgs < 0 {
			return rt, errors.New("maxArgs must not be negative")
		}
		rt.maxArgs = *p.MaxArgs
	}
	for _, f := range p.DeniedFlags {
		name := strings.TrimLeft(f, "-")
		if !strings.HasPrefix(f, "-") || name == "" || strings.ContainsAny(name, "= \t\n") {
			return rt, fmt.Errorf("deniedFlags: %q is not a flag (want -x, --name or -name, without '=')", f)
		}
		if r := []rune(name); len(r) == 1 {
			rt.short = append(rt.short, r[0])
		} else {
			rt.long = append(rt.long, deniedLong{spelled: f, norm: normFlag(name)})
		}
	}
	for _, s := range p.AllowedPatterns {
		// Compile alone first so that "a)|(b" cannot change meaning once wrapped in the anchors.
		if _, err := regexp.Compile(s); err != nil {
			return rt, fmt.Errorf("allowedPatterns: %w", err)
		}
		rt.allowed = append(rt.allowed, regexp.MustCompile(`^(?:`+s+`)$`))
	}
	for _, s := range p.DeniedPatterns {
		re, err := regexp.Compile(s)
		if err != nil {
			return rt, fmt.Errorf("deniedPatterns: %w", err)
		}
		rt.denied = append(rt.denied, re)
	}
	return rt, nil
}

// ArgError says which argument of a free-argument call was refused and why.
type ArgError struct {
	Index  int    // position in the caller's arguments, 0-based; -1 for the argument count
	Reason string // human-readable, names the rule
}

func (e *ArgError) Error() string { return e.Reason }

// check applies the policy to the caller's arguments (never to the pack's own command prefix). Every
// argument is checked, including those after "--": a tool may hand them on to another parser (kubectl exec,
// xargs-like tools), so "end of options" is not a safe place to stop. Order: the count, then each argument
// against NUL, deniedFlags and deniedPatterns, then allowedFlags (which also tells flag values from
// positional arguments) and allowedPatterns.
func (p *policy) check(args []string) error {
	if len(args) > p.maxArgs {
		return &ArgError{Index: -1, Reason: fmt.Sprintf("%d arguments given, the tool allows at most %d", len(args), p.maxArgs)}
	}
	for i, a := range args {
		if reason := p.checkDenied(a); reason != "" {
			return refusedArg(i, a, reason)
		}
	}
	positional := make([]bool, len(args))
	if p.flags != nil {
		if err := p.flags.walk(args, p.pflag, positional); err != nil {
			return err
		}
	} else {
		for i := range positional {
			positional[i] = true
		}
	}
	if len(p.allowed) > 0 {
		for i, a := range args {
			if positional[i] && !matchesAny(p.allowed, a) {
				return refusedArg(i, a, "it matches none of the allowed patterns")
			}
		}
	}
	return nil
}

func refusedArg(i int, a, reason string) *ArgError {
	return &ArgError{Index: i, Reason: fmt.Sprintf("argument %d %q refused: %s", i, clip.Text(a, 80), reason)}
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func (p *policy) checkDenied(a string) string {
	if strings.IndexByte(a, 0) >= 0 {
		return "it contains a NUL byte"
	}
	if r := p.checkFlags(a); r != "" {
		return r
	}
	for _, re := range p.denied {
		if re.MatchString(a) {
			return fmt.Sprintf("it matches the denied pattern %q", re.String())
		}
	}
	return ""
}

// checkFlags implements the denied-flag rules; docs/ipc.md states them for pack authors.
func (p *policy) checkFlags(a string) string {
	if a == "-" || a == "--" || !strings.HasPrefix(a, "-") {
		return ""
	}
	if body, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ := strings.Cut(body, "=")
		// Extra leading dashes ("---token") are stripped too: refusing more is the safe side.
		n := normFlag(strings.TrimLeft(name, "-"))
		for _, d := range p.long {
			// pflag (kubectl, helm) reads only the full name; GNU getopt_long accepts any unambiguous
			// abbreviation ("--kubec"), so there a prefix is the flag too.
			if d.norm == n {
				return fmt.Sprintf("it sets the denied flag %s", d.spelled)
			}
			if !p.pflag && strings.HasPrefix(d.norm, n) {
				return fmt.Sprintf("it abbreviates the denied flag %s (getopt accepts unambiguous prefixes)", d.spelled)
			}
		}
		for _, c := range p.short {
			// Go's flag package reads "--s" and "--s=v" exactly like "-s".
			if name == string(c) {
				return fmt.Sprintf("it sets the denied flag -%c (Go flag syntax)", c)
			}
		}
		return ""
	}
	body := a[1:]
	name, _, _ := strings.Cut(body, "=")
	if len([]rune(name)) >= 2 {
		n := normFlag(name)
		for _, d := range p.long {
			// Go's flag package accepts "-name" and "-name=v"; getopt_long_only also accepts abbreviations.
			if d.norm == n {
				return fmt.Sprintf("it sets the denied flag %s (single-dash syntax)", d.spelled)
			}
			if !p.pflag && strings.HasPrefix(d.norm, n) {
				return fmt.Sprintf("it abbreviates the denied flag %s (single-dash syntax; getopt_long_only accepts prefixes)", d.spelled)
			}
		}
	}
	for _, c := range p.short {
		// A single-dash argument can be a group of short flags ("-vs"), a flag with an attached value
		// ("-svalue", "-s=value"), and getopt reads "-v=s" as -v -= -s. Without knowing which letters take
		// values, any occurrence of the letter may be the flag.
		if strings.ContainsRune(body, c) {
			return fmt.Sprintf("it may set the denied flag -%c (in a short-flag group or attached value; "+
				"pass values as separate arguments or use the long form)", c)
		}
	}
	return ""
}
