package server

import (
	"errors"
	"fmt"
	"net/http"

	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/wire"
)

// errorf is an executor error: the HTTP status and code it is answered with, and a message formatted as
// fmt.Errorf formats it (so %w keeps the cause, for errors.Is and errors.As).
func errorf(status int, code, format string, args ...any) *wire.Error {
	err := fmt.Errorf(format, args...)
	return &wire.Error{Status: status, Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// refusal is the answer to a request the tool's arguments refused (argpolicy.Tool.Arguments): 400 with the
// code that names the rule, and which argument or parameter it was.
func refusal(err error) *wire.Error {
	if ke, ok := errors.AsType[*argpolicy.KindError](err); ok {
		code := "args_not_accepted"
		if ke.Sent == "input" {
			code = "input_not_accepted"
		}
		return errorf(http.StatusBadRequest, code, "%w", err)
	}
	if ae, ok := errors.AsType[*argpolicy.ArgError](err); ok {
		e := errorf(http.StatusBadRequest, "argument_refused", "%w", err)
		if ae.Index >= 0 {
			e.Index = &ae.Index
		}
		return e
	}
	if ie, ok := errors.AsType[*argpolicy.InputError](err); ok {
		e := errorf(http.StatusBadRequest, "input_refused", "%w", err)
		e.Param = ie.Param
		return e
	}
	return answer(err)
}

// answer is err as the executor answers it: a *wire.Error as it is, anything else as a 500.
func answer(err error) *wire.Error {
	if we, ok := errors.AsType[*wire.Error](err); ok {
		return we
	}
	return errorf(http.StatusInternalServerError, "internal", "%w", err)
}
