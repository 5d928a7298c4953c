package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// bodyBudgetBodies is how many bodies of the full cap may be read and decoded at once (see budget.go).
const bodyBudgetBodies = 4

// readJSON reads a capped body with its own read deadline (so a client that sends its body slowly is cut
// off) and decodes it. strict refuses unknown fields: a misspelt "timeoutSecond" must not be ignored. The
// body is read only into memory granted by the body budget; release gives it back and must be called once
// the decoded request has been handed on (it is never nil). The error is a *wire.Error.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request, dst any, strict bool) (release func(), err error) {
	release = func() {}
	tooLarge := errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds %d bytes", s.cfg.maxBody)
	if r.ContentLength > s.cfg.maxBody {
		return release, tooLarge
	}
	if r.ContentLength == 0 {
		return release, nil // no body: all defaults
	}
	rc := http.NewResponseController(w)
	giveUp := func() {
		// The rest of this body is not coming (or not wanted): make the server's discard of it fail at once,
		// and do not reuse the connection.
		_ = rc.SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
	}
	need := r.ContentLength
	if need < 0 {
		need = s.cfg.maxBody // chunked: the size is known only once read
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.readTimeout)
	ok := s.bodies.acquire(ctx, need)
	cancel()
	if !ok {
		giveUp()
		return release, errorf(http.StatusServiceUnavailable, "busy",
			"too many request bodies are being read at once; retry")
	}
	release = sync.OnceFunc(func() { s.bodies.release(need) })

	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	body := http.MaxBytesReader(w, r.Body, s.cfg.maxBody)
	var data []byte
	if r.ContentLength > 0 {
		data = make([]byte, r.ContentLength) // exactly what was announced, no growth copies
		_, err = io.ReadFull(body, data)
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		giveUp()
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return release, tooLarge
		}
		return release, errorf(http.StatusBadRequest, "bad_request", "reading body: %w", err)
	}
	// Clear it at once: the server's background read, which notices a caller that goes away, must not
	// inherit the deadline and cancel a long run.
	_ = rc.SetReadDeadline(time.Time{})
	if len(bytes.TrimSpace(data)) == 0 {
		return release, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return release, errorf(http.StatusBadRequest, "bad_request", "body: %w", err)
	}
	if dec.More() {
		return release, errorf(http.StatusBadRequest, "bad_request", "body: trailing data after the JSON object")
	}
	return release, nil
}
