package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// arguments turns a caller's request into the arguments appended to the tool's command, by the tool's kind:
// a typed tool renders its template from the validated input, a free-argument tool takes the caller's
// arguments through its policy, a tool without input takes nothing. Sending the other kind's field is a 400
// rather than ignored, so a caller never believes a restriction applied that did not.
func (t *Tool) arguments(args []string, input json.RawMessage) ([]string, *apiError) {
	hasInput := !isNull(input)
	if t.FreeArguments {
		if hasInput {
			return nil, errorf(http.StatusBadRequest, "input_not_accepted",
				fmt.Sprintf("tool %q takes free arguments: send \"args\" (a list of strings), not \"input\"", t.Name))
		}
		if ae := t.policy.check(args); ae != nil {
			e := errorf(http.StatusBadRequest, "argument_refused", ae.Reason)
			if ae.Index >= 0 {
				e.Index = &ae.Index
			}
			return nil, e
		}
		return args, nil
	}
	if len(args) > 0 {
		how := "it takes no input"
		if t.schema != nil && len(t.schema.params) > 0 {
			how = "send \"input\", a JSON object with its parameters: " + strings.Join(sortedKeys(t.schema.params), ", ")
		}
		return nil, errorf(http.StatusBadRequest, "args_not_accepted",
			fmt.Sprintf("tool %q takes no free arguments: %s", t.Name, how))
	}
	s := t.schema
	if s == nil {
		s = &schema{} // no parameters: only an empty input (or none) passes
	}
	values, ie := s.validate(input)
	if ie == nil {
		var argv []string
		if argv, ie = render(t.tmpl, values); ie == nil {
			return argv, nil
		}
	}
	e := errorf(http.StatusBadRequest, "input_refused", ie.Error())
	e.Param = ie.Param
	return nil, e
}
