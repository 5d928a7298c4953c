package argpolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"skillpod.io/executor/internal/strictjson"
)

// KindError refuses a request that sends the other kind's field: input to a free-argument tool, or arguments
// to a typed tool or a tool without input.
type KindError struct {
	Sent    string // what was sent that the tool does not take: "input" or "args"
	Message string
}

func (e *KindError) Error() string { return e.Message }

// Arguments turns a caller's request into the arguments appended to the tool's command, by the tool's kind:
// a typed tool renders its template from the validated input, a free-argument tool takes the caller's
// arguments through its policy, a tool without input takes nothing. Sending the other kind's field is refused
// rather than ignored, so a caller never believes a restriction applied that did not. A refusal is a
// *KindError, an *ArgError or an *InputError.
func (t *Tool) Arguments(args []string, input json.RawMessage) ([]string, error) {
	hasInput := !strictjson.IsNull(input)
	if t.FreeArguments {
		if hasInput {
			return nil, &KindError{Sent: "input", Message: fmt.Sprintf(
				"tool %q takes free arguments: send \"args\" (a list of strings), not \"input\"", t.Name)}
		}
		if err := t.policy.check(args); err != nil {
			return nil, err
		}
		return args, nil
	}
	if len(args) > 0 {
		how := "it takes no input"
		if t.schema != nil && len(t.schema.params) > 0 {
			how = "send \"input\", a JSON object with its parameters: " + strings.Join(slices.Sorted(maps.Keys(t.schema.params)), ", ")
		}
		return nil, &KindError{Sent: "args", Message: fmt.Sprintf("tool %q takes no free arguments: %s", t.Name, how)}
	}
	s := t.schema
	if s == nil {
		s = &schema{} // no parameters: only an empty input (or none) passes
	}
	values, err := s.validate(input)
	if err != nil {
		return nil, err
	}
	return render(t.tmpl, values)
}
