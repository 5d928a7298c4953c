package wire

// Error is every error the executor answers with: an HTTP status and a JSON body. A tool's non-zero exit is
// never one. The server answers with it, and a client gets it back from a non-2xx answer, so both sides find
// it with errors.As.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	Index   *int   `json:"index,omitempty"`     // argument_refused: which argument (0-based)
	Param   string `json:"parameter,omitempty"` // input_refused: which parameter

	Err error `json:"-"` // the cause, when there is one; never sent
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }
