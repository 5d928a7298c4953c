package argpolicy

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// Unit tables for typed tools: the schema and template checks at start, input validation, and rendering.

// kubectlGet is the contract's example tool (testdata/kubectl-get.json; the binary's tests use it too). Its
// name pattern forgets to forbid a leading '-', as authors will: the bare-position rule must refuse it anyway.
func kubectlGet(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/kubectl-get.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func typedTool(t *testing.T, raw string) *Tool {
	t.Helper()
	tools, err := ParseTools("[" + raw + "]")
	if err != nil {
		t.Fatal(err)
	}
	return tools[0]
}

func TestSchemaAndTemplateChecks(t *testing.T) {
	if _, err := ParseTools("[" + kubectlGet(t) + "]"); err != nil {
		t.Fatalf("the contract's example: %v", err)
	}
	tool := func(params, args string) string {
		return `[{"name":"t","command":["x"],"parameters":` + params + `,"args":` + args + `}]`
	}
	str := `{"type":"object","properties":{"a":{"type":"string"}}}`
	cases := []struct {
		name, raw, want string // want: in the error, which names the path and the reason
	}{
		{"unknown keyword in a parameter", tool(`{"type":"object","properties":{"a":{"type":"string","format":"uri"}}}`, `[["{a}"]]`), `.parameters.properties.a: unknown field "format"`},
		{"unknown keyword in items", tool(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"string","const":"x"}}}}`, `[["{a}"]]`), `.parameters.properties.a.items: unknown field "const"`},
		{"unknown keyword at the top", tool(`{"type":"object","properties":{},"additionalProperties":false}`, `[]`), `.parameters: unknown field "additionalProperties"`},
		{"case variant of a keyword", tool(`{"type":"object","properties":{"a":{"type":"string","Pattern":"x"}}}`, `[["{a}"]]`), `unknown field "Pattern"`},
		{"duplicate key", tool(`{"type":"object","properties":{"a":{"type":"string","pattern":"^a$","pattern":".*"}}}`, `[["{a}"]]`), `duplicate field "pattern"`},
		{"top type not object", tool(`{"type":"array","properties":{}}`, `[]`), `.parameters.type: must be "object"`},
		{"no properties", tool(`{"type":"object"}`, `[]`), `.parameters.properties: required`},
		{"bad parameter name", tool(`{"type":"object","properties":{"a-b":{"type":"string"}}}`, `[["{a-b}"]]`), `properties.a-b: a parameter name`},
		{"unknown type", tool(`{"type":"object","properties":{"a":{"type":"number"}}}`, `[["{a}"]]`), `"number" is not one of`},
		{"keyword of another type", tool(`{"type":"object","properties":{"a":{"type":"integer","pattern":"x"}}}`, `[["{a}"]]`), `.a.pattern: does not apply to integer`},
		{"array without items", tool(`{"type":"object","properties":{"a":{"type":"array"}}}`, `[["{a}"]]`), `.a.items: required`},
		{"array of integers", tool(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}}`, `[["{a}"]]`), `array items must be strings`},
		{"maxItems too big", tool(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"maxItems":257}}}`, `[["{a}"]]`), `maxItems`},
		{"bad pattern", tool(`{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`, `[["{a}"]]`), `.a.pattern`},
		{"min above max", tool(`{"type":"object","properties":{"a":{"type":"integer","minimum":5,"maximum":1}}}`, `[["{a}"]]`), `minimum must not exceed maximum`},
		{"fractional bound", tool(`{"type":"object","properties":{"a":{"type":"integer","minimum":1.5}}}`, `[["{a}"]]`), `.a.minimum`},
		{"empty enum", tool(`{"type":"object","properties":{"a":{"type":"string","enum":[]}}}`, `[["{a}"]]`), `.a.enum`},
		{"required undeclared", tool(`{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}`, `[["{a}"]]`), `"b" is not a declared parameter`},
		{"placeholder undeclared", tool(str, `[["{a}"],["--x","{b}"]]`), `.args[1][1]: {b} is not a declared parameter`},
		{"parameter unused", tool(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}`, `[["{a}"]]`), `"b" is declared but not used`},
		{"boolean embedded", tool(`{"type":"object","properties":{"f":{"type":"boolean"}}}`, `[["--force={f}"]]`), `boolean {f} must be a whole element`},
		{"boolean alone", tool(`{"type":"object","properties":{"f":{"type":"boolean"}}}`, `[["{f}"]]`), `needs the flag it stands for`},
		{"two arrays in a group", tool(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"}},"b":{"type":"array","items":{"type":"string"}}}}`, `[["{a}","{b}"]]`), `at most one array parameter per group`},
		{"empty group", tool(str, `[["{a}"],[]]`), `.args[1]: a group has 1 to 8`},
		{"group too long", tool(str, `[["{a}","1","2","3","4","5","6","7","8"]]`), `a group has 1 to 8`},
		{"NUL in a literal", tool(str, `[["{a}","x\u0000y"]]`), `NUL`},
		{"args without parameters", `[{"name":"t","command":["x"],"args":[["-v"]]}]`, `args (the argument template) needs parameters`},
		{"free with parameters", `[{"name":"t","command":["x"],"freeArguments":true,"parameters":` + str + `}]`, `freeArguments takes no parameters`},
		{"argPolicy without freeArguments", `[{"name":"t","command":["x"],"argPolicy":{"maxArgs":1}}]`, `argPolicy applies to tools with freeArguments: true only`},
		{"unknown argPolicy field", `[{"name":"t","command":["x"],"freeArguments":true,"argPolicy":{"allowedflags":[]}}]`, `.argPolicy: unknown field "allowedflags"`},
		{"unknown allowedFlags field", `[{"name":"t","command":["x"],"freeArguments":true,"argPolicy":{"allowedFlags":[{"flag":"-n","values":"x"}]}}]`, `.argPolicy.allowedFlags[0]: unknown field "values"`},
		{"bad parser", `[{"name":"t","command":["x"],"freeArguments":true,"argPolicy":{"parser":"argparse"}}]`, `parser: "argparse"`},
		{"bad allowed flag", `[{"name":"t","command":["x"],"freeArguments":true,"argPolicy":{"allowedFlags":[{"flag":"tail"}]}}]`, `allowedFlags: [0].flag "tail" is not a flag`},
	}
	for _, c := range cases {
		_, err := ParseTools(c.raw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	// Brace text that is not a placeholder is literal: {.metadata.name} and {} stay as written.
	tl := typedTool(t, `{"name":"t","command":["x"],"parameters":`+str+`,"args":[["-o","jsonpath={.metadata.name}{}"],["{a}"]]}`)
	if argv, ie := render(tl.tmpl, map[string]value{"a": {typ: "string", s: "x"}}); ie != nil ||
		!slices.Equal(argv, []string{"-o", "jsonpath={.metadata.name}{}", "x"}) {
		t.Fatalf("literal braces: %q %v", argv, ie)
	}
}

// callInput validates input and renders argv the way the server does.
func callInput(tool *Tool, input string) ([]string, error) {
	var raw json.RawMessage
	if input != "" {
		raw = json.RawMessage(input)
	}
	return tool.Arguments(nil, raw)
}

func TestInputValidationAndRendering(t *testing.T) {
	tool := typedTool(t, kubectlGet(t))
	ok := []struct {
		input string
		want  []string
	}{
		{`{"resource":"pods"}`, []string{"pods"}},
		{`{"resource":"pods","name":"web-0","output":"json"}`, []string{"pods", "web-0", "--output", "json"}},
		// A value in an option's value position may start with '-': the option takes it as its value.
		{`{"resource":"pods","selector":"-app=web"}`, []string{"pods", "--selector=-app=web"}},
		{`{"resource":"pods","allContainers":true}`, []string{"pods", "--all-containers"}},
		{`{"resource":"pods","allContainers":false}`, []string{"pods"}},
		{`{"resource":"pods","tail":20}`, []string{"pods", "--tail", "20"}},
		{`{"resource":"pods","tail":20.0}`, []string{"pods", "--tail", "20"}},
		{`{"resource":"pods","headers":["a: 1","b: 2"]}`, []string{"pods", "-H", "a: 1", "-H", "b: 2"}},
		{`{"resource":"pods","headers":[]}`, []string{"pods"}},
		// Metacharacters are data: no shell ever sees them.
		{`{"resource":"pods","selector":"$(id);|&"}`, []string{"pods", "--selector=$(id);|&"}},
	}
	for _, c := range ok {
		argv, e := callInput(tool, c.input)
		if e != nil || !slices.Equal(argv, c.want) {
			t.Errorf("%s: got %q %v, want %q", c.input, argv, e, c.want)
		}
	}
	refused := []struct {
		input, param, reason string
	}{
		{``, "resource", "required, missing"},
		{`{}`, "resource", "required, missing"},
		{`[]`, "", "input must be a JSON object"},
		{`"pods"`, "", "input must be a JSON object"},
		{`{"resource":"pods","kubeconfig":"/x"}`, "kubeconfig", "no such parameter"},
		{`{"resource":"secrets"}`, "resource", `"secrets" is not one of`},
		{`{"resource":"pods","name":"Web"}`, "name", "does not match the pattern"},
		{`{"resource":"pods","name":"` + strings.Repeat("a", 254) + `"}`, "name", "254 characters, at most 253"},
		// The value would be read as a flag in a bare position, whatever the schema says.
		{`{"resource":"pods","name":"-oyaml"}`, "name", "where the tool would read it as a flag"},
		{`{"resource":"pods","name":"a\u0000b"}`, "name", "NUL"},
		{`{"resource":"pods","headers":["ok","x\u0000"]}`, "headers", "item 1: contains a NUL byte"},
		{`{"resource":"pods","headers":["a","b","c","d"]}`, "headers", "4 items, at most 3"},
		{`{"resource":"pods","headers":"a"}`, "headers", "want an array of strings"},
		{`{"resource":"pods","headers":[1]}`, "headers", "item 0: want a string"},
		{`{"resource":"pods","tail":"20"}`, "tail", "want an integer"},
		{`{"resource":"pods","tail":1.5}`, "tail", "want an integer"},
		{`{"resource":"pods","tail":1e3}`, "tail", "without fraction or exponent"},
		{`{"resource":"pods","tail":-1}`, "tail", "below the minimum 0"},
		{`{"resource":"pods","tail":10001}`, "tail", "above the maximum 10000"},
		{`{"resource":"pods","tail":99999999999999999999}`, "tail", "out of range"},
		{`{"resource":"pods","allContainers":"true"}`, "allContainers", "want true or false"},
		{`{"resource":"pods","allContainers":1}`, "allContainers", "want true or false"},
		{`{"resource":null}`, "resource", "want a string"},
		{`{"resource":"pods","name":7}`, "name", "want a string"},
	}
	for _, c := range refused {
		_, err := callInput(tool, c.input)
		if ie := inputError(err); ie == nil || ie.Param != c.param || !strings.Contains(ie.Error(), c.reason) {
			t.Errorf("%s: got %v, want an input refusal naming %q because %q", c.input, err, c.param, c.reason)
		}
	}
	if _, err := tool.Arguments([]string{"pods"}, nil); kindError(err) != "args" || !strings.Contains(err.Error(), "resource") {
		t.Errorf("args to a typed tool: %v", err)
	}
}

func TestBarePositions(t *testing.T) {
	tool := typedTool(t, `{"name":"t","command":["x"],
	 "parameters":{"type":"object","properties":{
	   "a":{"type":"string"},"b":{"type":"string"},"n":{"type":"integer"},"v":{"type":"boolean"},
	   "files":{"type":"array","items":{"type":"string"}},"kind":{"type":"string"},"name":{"type":"string"}}},
	 "args":[["{a}:{b}"],["{v}","{n}"],["{files}"],["--b","{b}"],["{kind}","{name}"]]}`)
	cases := []struct {
		input, param string // param: refused for this parameter; "" = accepted
	}{
		{`{"a":"x","b":"-y"}`, ""},          // "x:-y": the value is not at the start
		{`{"a":"-x","b":"y"}`, "a"},         // "-x:y": would start a flag, though the element is not exactly {a}
		{`{"v":true,"n":-5}`, "n"},          // a boolean renders nothing: {n} leads the group, and -5 starts with '-'
		{`{"v":true,"n":5}`, ""},            // ...a positive number is fine
		{`{"n":-5}`, ""},                    // v absent: the group is dropped
		{`{"files":["a","--rm"]}`, "files"}, // each item of an array group is checked
		{`{"b":"-y"}`, ""},                  // after the literal flag --b: that flag's value
		{`{"kind":"pods","name":"--kubeconfig=/workspace/rc"}`, "name"}, // a second value follows no flag: bare too
		{`{"kind":"pods","name":"web"}`, ""},
	}
	for _, c := range cases {
		_, err := callInput(tool, c.input)
		switch ie := inputError(err); {
		case c.param == "" && err != nil:
			t.Errorf("%s: refused: %v", c.input, err)
		case c.param != "" && (ie == nil || ie.Param != c.param || !strings.Contains(ie.Error(), "read it as a flag")):
			t.Errorf("%s: got %v, want a refusal naming %s", c.input, err, c.param)
		}
	}
}

func TestNoInputTool(t *testing.T) {
	tool := typedTool(t, `{"name":"version","command":["kubectl","version"]}`)
	for _, in := range []string{``, `{}`, `null`} {
		if argv, e := callInput(tool, in); e != nil || len(argv) != 0 {
			t.Errorf("input %q: %q %v", in, argv, e)
		}
	}
	if _, err := callInput(tool, `{"x":1}`); inputError(err) == nil || inputError(err).Param != "x" || !strings.Contains(err.Error(), "takes none") {
		t.Errorf("input to a tool without parameters: %v", err)
	}
	if _, err := tool.Arguments([]string{"--client"}, nil); kindError(err) != "args" || !strings.Contains(err.Error(), "no input") {
		t.Errorf("args to a tool without input: %v", err)
	}
	free := typedTool(t, `{"name":"f","command":["echo"],"freeArguments":true}`)
	if _, err := callInput(free, `{"a":"b"}`); kindError(err) != "input" {
		t.Errorf("input to a free tool: %v", err)
	}
}

// inputError is err as the *InputError it must be, or nil.
func inputError(err error) *InputError {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}

// kindError is what a *KindError says was sent that the tool does not take; "" for any other error.
func kindError(err error) string {
	var ke *KindError
	if errors.As(err, &ke) {
		return ke.Sent
	}
	return ""
}
