package main

import (
	"strings"
	"testing"
)

// kubectlPolicy is the argument policy a cluster admin would give a kubectl tool.
func kubectlPolicy(t *testing.T) argPolicyRT {
	t.Helper()
	rt, err := compilePolicy(&ArgPolicy{
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
		if err := p.check([]string{"get", a}); err == nil {
			t.Errorf("%q was allowed, want refused", a)
		} else if err.Index != 1 {
			t.Errorf("%q: index %d, want 1", a, err.Index)
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
	err := p.check([]string{"exec", "pod", "--", "kubectl", "--token=x"})
	if err == nil || err.Index != 4 {
		t.Fatalf("want argument 4 refused, got %v", err)
	}
	// The separate-value form "--server https://x" is refused through its flag argument.
	err = p.check([]string{"get", "--server", "https://evil"})
	if err == nil || err.Index != 1 {
		t.Fatalf("want argument 1 refused, got %v", err)
	}
}

func TestPatternsAndMaxArgs(t *testing.T) {
	maxArgs := 3
	rt, err := compilePolicy(&ArgPolicy{
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
	cases := map[string][]string{
		"outside allowed patterns (anchored)": {"get", "Pods"},
		"space":                               {"a b"},
		"command substitution":                {"$(id)"},
		"denied pattern":                      {"secrets"},
		"too many":                            {"a", "b", "c", "d"},
	}
	for name, args := range cases {
		if err := rt.check(args); err == nil {
			t.Errorf("%s: %q allowed, want refused", name, args)
		}
	}
	if err := rt.check([]string{"a", "b", "c", "d"}); err == nil || err.Index != -1 {
		t.Errorf("maxArgs refusal should have index -1, got %v", err)
	}
}

func TestPolicyCompileErrors(t *testing.T) {
	neg := -1
	bad := []*ArgPolicy{
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
	tools, err := parseTools(`[{"name":"get","command":["kubectl","get"],"freeArguments":true,"argPolicy":{"deniedFlags":["--token"]}}]`)
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
		if _, err := parseTools(raw); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	s := shorten(long, 81)
	if !strings.HasSuffix(s, "…(400 bytes)") || !strings.HasPrefix(s, strings.Repeat("é", 40)) {
		t.Fatalf("shorten = %q", s)
	}
	if shorten("abc", 10) != "abc" {
		t.Fatal("short strings must stay")
	}
}
