package server

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"skillpod.io/executor/internal/clip"
)

// ServeHTTP routes by hand on the raw, still-escaped path. http.ServeMux would percent-decode a tool name
// ("..%2F..%2Fbin%2Fsh" becomes "../../bin/sh") and answer some paths with redirects and plain-text errors;
// here every segment is taken as sent, tool names must be DNS labels, and every error is JSON.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if r.ContentLength != 0 {
		// Bound the body phase now: a handler that answers without reading the body (403, 404, 413…)
		// leaves the server to discard it, and that discard must not wait forever on a stalled client.
		// readJSON clears the deadline once a body has been read in full.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	}

	// Health is open to every local process: the startup probe runs as the sidecar's user, which need not be
	// the agent's, and it reveals nothing a caller could use.
	switch path {
	case "/healthz": // skill-sidecar compatible
		if allow(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok"))
		}
		return
	case "/v1/health":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.health())
		}
		return
	}

	if p := peerFrom(r.Context()); !p.ok || p.uid != s.cfg.agentUID {
		s.forbidden(w, r, p)
		return
	}

	switch {
	case path == "/v1/tools":
		if allow(w, r, http.MethodGet) {
			s.listTools(w)
		}
	case path == "/v1/runs":
		switch r.Method {
		case http.MethodGet:
			s.listRuns(w)
		case http.MethodPost:
			s.submit(w, r)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(path, "/v1/tools/") && strings.HasSuffix(path, "/run"):
		if allow(w, r, http.MethodPost) {
			s.runSync(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/v1/tools/"), "/run"))
		}
	case strings.HasPrefix(path, "/v1/runs/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(path, "/v1/runs/"), "/")
		switch action {
		case "":
			if allow(w, r, http.MethodGet) {
				s.poll(w, r, id)
			}
		case "cancel":
			if allow(w, r, http.MethodPost) {
				s.cancel(w, r, id)
			}
		default:
			notFound(w)
		}
	case strings.HasPrefix(path, "/skill/"):
		if allow(w, r, http.MethodPost) {
			s.compatRun(w, r, strings.TrimPrefix(path, "/skill/"))
		}
	case strings.HasPrefix(path, "/task/"):
		if allow(w, r, http.MethodGet) {
			s.compatPoll(w, strings.TrimPrefix(path, "/task/"))
		}
	default:
		notFound(w)
	}
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	methodNotAllowed(w, method)
	return false
}

func methodNotAllowed(w http.ResponseWriter, allowed string) {
	w.Header().Set("Allow", allowed)
	writeError(w, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "allowed: %s", allowed))
}

func notFound(w http.ResponseWriter) {
	writeError(w, errorf(http.StatusNotFound, "not_found", "no such route or run"))
}

// runID is what newID produces; anything else cannot name a run.
var runID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (s *server) forbidden(w http.ResponseWriter, r *http.Request, p peer) {
	e := errorf(http.StatusForbidden, "forbidden",
		"only the agent's UID may call this executor (SO_PEERCRED check)")
	line := auditLine{Mode: "refused", Route: r.Method + " " + clip.Text(r.URL.EscapedPath(), 120), Status: e.Status, Error: e.Code}
	if p.ok {
		uid := p.uid
		line.PeerUID = &uid
		line.Reason = "peer uid is not the agent's"
	} else {
		line.Reason = "peer credentials unavailable"
	}
	s.audit.write(line)
	writeError(w, e)
}
