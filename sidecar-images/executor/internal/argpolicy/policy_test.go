package argpolicy

import (
	"errors"
	"strings"
	"testing"

	"skillpod.io/executor/internal/wire"
)

// kubectlPolicy is the argument policy a cluster admin would give a kubectl tool.
func kubectlPolicy(t *testing.T) policy {
	t.Helper()
	rt, err := compilePolicy(&wire.ArgPolicy{
		DeniedFlags: []string{"--kubeconfig", "--server", "-s", "--token", "--as", "--as-group", "--as-uid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestDeniedFlagSpellings(t *testing.T) {
	p := kubectlPolicy(t)
	refused := []string{
		// exact, with value attached, and abbreviated the way getopt_long accepts
		"--kubeconfig", "--kubeconfig=/workspace/x", "--kubec", "--kubec=/workspace/x", "--k",
		"--server", "--server=https://evil", "--serv", "--se",
		"--token", "--token=abc", "--tok",
		"--as", "--as=system:admin", "--as-group=system:masters", "--as-uid=0", "--a",
		// case and '_' folding (pflag's WordSepNormalizeFunc in kubectl reads --as_group as --as-group)
		"--KUBECONFIG=/x", "--As_Group=system:masters", "--as_uid",
		// single-dash long forms (Go's flag package) and their abbreviations (getopt_long_only)
		"-kubeconfig", "-kubeconfig=/workspace/x", "-token=abc", "-kubec", "-as",
		// the single-letter flag alone, with attached value, with '=', inside a group, and Go's --s
		"-s", "-shttps://evil", "-s=https://evil", "-vs", "-sv", "-v=s", "--s", "--s=https://evil",
		// extra dashes and the empty long name
		"---token", "--=x",
		// NUL bytes can never be passed to execve faithfully
		"pods\x00--token",
	}
	for _, a := range refused {
		if err := argError(p.check([]string{"get", a})); err == nil {
			t.Errorf("%q was allowed, want refused", a)
		} else if err.Index != 1 || !strings.HasPrefix(err.Reason, "argument 1 ") ||
			!(strings.Contains(err.Reason, "denied flag") || strings.Contains(err.Reason, "NUL")) {
			t.Errorf("%q: index %d, reason %q: want argument 1 named, and the rule", a, err.Index, err.Reason)
		}
	}
	allowed := []string{
		"get", "pods", "-n", "kube-system", "--namespace=default", "-o", "yaml", "-owide", "--output=json",
		"--all-namespaces", "-A", "-l", "app=web", "--selector=app=web", "--show-labels", "--sort-by=.metadata.name",
		"-w", "-it", "-", "--", "x--token", "token", "kubeconfig", "--kubeconfigs", "--tokens", "--asx",
	}
	for _, a := range allowed {
		if err := p.check([]string{a}); err != nil {
			t.Errorf("%q was refused: %v", a, err)
		}
	}
}

func TestDeniedFlagAfterDoubleDash(t *testing.T) {
	p := kubectlPolicy(t)
	checkRefusals(t, p, []refusal{
		{[]string{"exec", "pod", "--", "kubectl", "--token=x"}, 4, "sets the denied flag --token"},
		// The separate-value form "--server https://x" is refused through its flag argument.
		{[]string{"get", "--server", "https://evil"}, 1, "sets the denied flag --server"},
	})
}

func TestPatternsAndMaxArgs(t *testing.T) {
	maxArgs := 3
	rt, err := compilePolicy(&wire.ArgPolicy{
		AllowedPatterns: []string{`[a-z0-9./=:-]+`, `-n`},
		DeniedPatterns:  []string{`secret`},
		MaxArgs:         &maxArgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.check([]string{"get", "pods", "-n"}); err != nil {
		t.Fatalf("allowed args refused: %v", err)
	}
	checkRefusals(t, rt, []refusal{
		{[]string{"get", "Pods"}, 1, "matches none of the allowed patterns"}, // anchored
		{[]string{"a b"}, 0, "matches none of the allowed patterns"},
		{[]string{"$(id)"}, 0, "matches none of the allowed patterns"},
		{[]string{"secrets"}, 0, `matches the denied pattern "secret"`},
	})
	if err := argError(rt.check([]string{"a", "b", "c", "d"})); err == nil || err.Index != -1 {
		t.Errorf("maxArgs refusal should have index -1, got %v", err)
	}
}

func TestPolicyCompileErrors(t *testing.T) {
	neg := -1
	bad := []*wire.ArgPolicy{
		{DeniedFlags: []string{"token"}},
		{DeniedFlags: []string{"--"}},
		{DeniedFlags: []string{"--token=x"}},
		{AllowedPatterns: []string{"a)|(b"}},
		{DeniedPatterns: []string{"("}},
		{MaxArgs: &neg},
	}
	for _, p := range bad {
		if _, err := compilePolicy(p); err == nil {
			t.Errorf("%+v compiled, want an error", p)
		}
	}
}

func TestParseTools(t *testing.T) {
	tools, err := ParseTools(`[{"name":"get","command":["kubectl","get"],"freeArguments":true,"argPolicy":{"deniedFlags":["--token"]}}]`)
	if err != nil {
		t.Fatal(err)
	}
	if tools[0].TimeoutSeconds != defaultTimeoutSeconds {
		t.Errorf("default timeout %d, want %d", tools[0].TimeoutSeconds, defaultTimeoutSeconds)
	}
	bad := map[string]string{
		"empty":            ``,
		"not an array":     `{"name":"x"}`,
		"no tools":         `[]`,
		"unknown field":    `[{"name":"x","command":["ls"],"policy":{}}]`,
		"case variant":     `[{"name":"x","command":["ls"],"argpolicy":{}}]`,
		"policy override":  `[{"name":"x","command":["ls"],"argPolicy":{"deniedFlags":["--token"]},"ARGPOLICY":null}]`,
		"policy field":     `[{"name":"x","command":["ls"],"argPolicy":{"deniedflags":["--token"]}}]`,
		"bad name":         `[{"name":"../x","command":["ls"]}]`,
		"upper-case name":  `[{"name":"Get","command":["ls"]}]`,
		"no command":       `[{"name":"x","command":[]}]`,
		"relative command": `[{"name":"x","command":["bin/tool"]}]`,
		"duplicate":        `[{"name":"x","command":["ls"]},{"name":"x","command":["ls"]}]`,
		"negative timeout": `[{"name":"x","command":["ls"],"timeoutSeconds":-1}]`,
		"huge timeout":     `[{"name":"x","command":["ls"],"timeoutSeconds":100000}]`,
		"bad regexp":       `[{"name":"x","command":["ls"],"argPolicy":{"allowedPatterns":["("]}}]`,
		"trailing data":    `[{"name":"x","command":["ls"]}] []`,
	}
	for name, raw := range bad {
		if _, err := ParseTools(raw); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}

func compile(t *testing.T, p wire.ArgPolicy) policy {
	t.Helper()
	rt, err := compilePolicy(&p)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// argError is err as the *ArgError it must be, or nil.
func argError(err error) *ArgError {
	var ae *ArgError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// refusal is one expected refusal: the arguments, which one is refused, and a piece of the reason.
type refusal struct {
	args   []string
	index  int
	reason string
}

func checkRefusals(t *testing.T, p policy, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		err := argError(p.check(c.args))
		if err == nil || err.Index != c.index || !strings.Contains(err.Reason, c.reason) {
			t.Errorf("%q: got %+v, want argument %d refused because %q", c.args, err, c.index, c.reason)
		}
	}
}

func TestParserFlavours(t *testing.T) {
	denied := []string{"--repository-config", "--kubeconfig", "--registry-config"}
	getopt := compile(t, wire.ArgPolicy{DeniedFlags: denied})
	pflag := compile(t, wire.ArgPolicy{DeniedFlags: denied, Parser: "pflag"})

	// helm's documented usage: --repo is its own flag, not an abbreviation, because pflag has none.
	helm := []string{"pull", "mychart", "--repo", "https://charts.example.com"}
	if err := pflag.check(helm); err != nil {
		t.Fatalf("pflag: --repo refused: %v", err)
	}
	checkRefusals(t, getopt, []refusal{
		{helm, 2, "abbreviates the denied flag --repository-config (getopt accepts unambiguous prefixes)"},
		{[]string{"--kubec=/x"}, 0, "abbreviates the denied flag --kubeconfig"},
	})
	checkRefusals(t, pflag, []refusal{
		{[]string{"x", "--repository-config=/w/r"}, 1, "sets the denied flag --repository-config"},
		{[]string{"--kubeconfig", "/x"}, 0, "sets the denied flag --kubeconfig"},
		{[]string{"--KubeConfig=/x"}, 0, "sets the denied flag --kubeconfig"}, // folding only ever refuses more
		{[]string{"--registry_config=/x"}, 0, "sets the denied flag --registry-config"},
		{[]string{"-kubeconfig=/x"}, 0, "single-dash syntax"},
	})
	for _, a := range []string{"--kubec=/x", "--repo=x", "--registry=x"} {
		if err := pflag.check([]string{a}); err != nil {
			t.Errorf("pflag: %q refused: %v", a, err)
		}
	}
}

func TestAllowedFlags(t *testing.T) {
	num, name := "[0-9]+", "[a-z0-9-]+"
	for _, parser := range []string{"getopt", "pflag"} {
		p := compile(t, wire.ArgPolicy{Parser: parser,
			AllowedFlags: []wire.AllowedFlag{
				{Flag: "--tail", Value: &num}, {Flag: "--previous"}, {Flag: "-n", Value: &name},
				{Flag: "-f"}, {Flag: "-c", Value: &name},
			},
			AllowedPatterns: []string{"[a-z0-9-]+"},
		})
		accepted := [][]string{
			{"web-0", "--tail=20"}, {"web-0", "--tail", "20"}, {"--previous", "web-0"},
			{"-n", "prod", "web-0"}, {"-nprod", "web-0"}, {"-fc", "app"}, {"-fcapp"},
			{"web-0", "--tail", "20", "-n", "default"},
		}
		for _, args := range accepted {
			if err := p.check(args); err != nil {
				t.Errorf("%s: %q refused: %v", parser, args, err)
			}
		}
		checkRefusals(t, p, []refusal{
			{[]string{"web-0", "--kuberc=/workspace/rc"}, 1, "--kuberc is not an allowed flag"},
			{[]string{"web-0", "--ta=5"}, 1, "abbreviations are not accepted: write --tail in full"},
			{[]string{"web-0", "--tail=x"}, 1, `the value "x" of --tail does not match "^(?:[0-9]+)$"`},
			// The separate value is checked where it is, so the refusal names it (index 2, not 1).
			{[]string{"web-0", "--tail", "--kubeconfig=/x"}, 2, "of --tail does not match"},
			{[]string{"web-0", "--tail"}, 1, "--tail needs a value, and none follows"},
			{[]string{"--previous=true"}, 0, "--previous takes no value"},
			{[]string{"-s", "https://x"}, 0, "-s is not an allowed flag"},
			{[]string{"-fs"}, 0, `-s (in the short-flag group "-fs") is not an allowed flag`},
			{[]string{"-nPROD"}, 0, `the value "PROD" of -n does not match`},
			{[]string{"-n"}, 0, "-n needs a value"},
			{[]string{"web-0", "--", "--kubeconfig=/x"}, 1, `after "--" it would take flags as positional`},
			{[]string{"Web"}, 0, "matches none of the allowed patterns"},
			{[]string{"-v=s"}, 0, `-v (in the short-flag group "-v=s") is not an allowed flag`},
		})
	}
	// Attached "=": pflag reads -n=prod as prod, getopt as "=prod"; each is checked as its parser reads it.
	p := compile(t, wire.ArgPolicy{Parser: "pflag", AllowedFlags: []wire.AllowedFlag{{Flag: "-n", Value: &name}}})
	if err := p.check([]string{"-n=prod"}); err != nil {
		t.Errorf("pflag -n=prod: %v", err)
	}
	g := compile(t, wire.ArgPolicy{AllowedFlags: []wire.AllowedFlag{{Flag: "-n", Value: &name}}})
	checkRefusals(t, g, []refusal{{[]string{"-n=prod"}, 0, `the value "=prod" of -n`}})
	// Positional arguments without allowedPatterns pass; deniedFlags and deniedPatterns still apply.
	d := compile(t, wire.ArgPolicy{AllowedFlags: []wire.AllowedFlag{{Flag: "--tail", Value: &num}}, DeniedPatterns: []string{"secret"}})
	checkRefusals(t, d, []refusal{{[]string{"my-secret"}, 0, "denied pattern"}})
	if err := d.check([]string{"anything/at all", "-"}); err != nil {
		t.Errorf("positional without patterns: %v", err)
	}
}
