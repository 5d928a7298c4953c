package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"skillpod.io/executor/internal/client"
	"skillpod.io/executor/internal/setting"
	"skillpod.io/executor/internal/wire"
)

// Exit codes of `call` that are not the tool's own.
const (
	exitTimedOut      = 124 // like timeout(1)
	exitExecutorError = 125 // the executor refused or failed the call; the tool did not run (to completion)
)

const callUsage = "usage: skillpod-exec call [--stdin] [--timeout <seconds>] [--json] <pack> <tool> --input '<json>'\n" +
	"       skillpod-exec call [--stdin] [--timeout <seconds>] [--json] <pack> <tool> [args…]   (free-argument tools)"

// Call is `call <pack> <tool> --input '<json>'` for a typed tool and `call <pack> <tool> [args…]` for a
// free-argument one: it runs the tool through the pack's executor and passes its output and exit code
// through, so the agent can use a skill like a local command. Options go before the pack (--input may also
// follow the tool, as the only thing there); everything else after the tool name is the tool's, verbatim.
func Call(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var req wire.RunRequest
	var asJSON, withStdin bool
	var input *string
options:
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		opt := args[0]
		args = args[1:]
		switch {
		case opt == "--":
			break options
		case opt == "--stdin":
			withStdin = true
		case opt == "--json":
			asJSON = true
		case opt == "--timeout" && len(args) > 0:
			n, err := strconv.Atoi(args[0])
			if err != nil || n <= 0 {
				return fail(stderr, "--timeout wants a positive number of seconds")
			}
			req.TimeoutSeconds, args = n, args[1:]
		case opt == "--input" && len(args) > 0:
			input, args = &args[0], args[1:]
		case strings.HasPrefix(opt, "--input="):
			v := strings.TrimPrefix(opt, "--input=")
			input = &v
		default:
			return fail(stderr, fmt.Sprintf("unknown option %q; %s", opt, callUsage))
		}
	}
	if len(args) < 2 {
		return fail(stderr, callUsage)
	}
	pack, tool := args[0], args[1]
	req.Args = append([]string{}, args[2:]...)
	if !wire.ValidName(pack, wire.MaxPackName) || !wire.ValidName(tool, wire.MaxToolName) {
		return fail(stderr, "pack and tool names are DNS labels; "+callUsage)
	}
	if withStdin {
		data, err := io.ReadAll(io.LimitReader(stdin, 64<<20))
		if err != nil {
			return fail(stderr, fmt.Sprintf("reading stdin: %v", err))
		}
		s := string(data)
		req.Stdin = &s
	}

	sock, err := client.Socket(setting.IPCDir(getenv), pack)
	if err != nil {
		return failErr(stderr, err)
	}
	c := client.New(sock, 0) // no client timeout: the tool's own bounds the call
	if input == nil {
		if in, ok := trailingInput(req.Args); ok && !isFreeTool(sock, tool) {
			input, req.Args = &in, nil
		}
	}
	if input != nil {
		if len(req.Args) > 0 {
			return fail(stderr, "--input and arguments do not go together: a typed tool takes --input, a free-argument tool arguments")
		}
		if !json.Valid([]byte(*input)) {
			return fail(stderr, "--input is not valid JSON; want an object such as '{\"name\":\"web\"}'")
		}
		req.Input = json.RawMessage(*input)
	}
	res, err := c.Run(context.Background(), tool, req)
	if err != nil {
		return failErr(stderr, err)
	}
	if asJSON {
		b, _ := json.Marshal(res)
		_, _ = stdout.Write(append(b, '\n'))
	} else {
		writeStream(stdout, res.Stdout, res.StdoutEncoding)
		writeStream(stderr, res.Stderr, res.StderrEncoding)
		if res.StdoutTruncated {
			_, _ = fmt.Fprintf(stderr, "skillpod-exec: stdout truncated: %d of %d bytes shown\n", len(res.Stdout), res.StdoutBytes)
		}
		if res.StderrTruncated {
			_, _ = fmt.Fprintf(stderr, "skillpod-exec: stderr truncated: %d bytes produced\n", res.StderrBytes)
		}
	}
	switch {
	case res.TimedOut:
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: %s %s timed out after %d ms and was killed\n", pack, tool, res.DurationMs)
		return exitTimedOut
	case res.Cancelled:
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: %s %s was stopped (%s)\n", pack, tool, res.StopReason)
	}
	return res.ExitCode & 0xff
}

// trailingInput recognises `<pack> <tool> --input <json>` (or --input=<json>), the documented form for typed
// tools. The same words could be a free-argument tool's own flag, so the caller asks the tool's kind first.
func trailingInput(args []string) (string, bool) {
	switch {
	case len(args) == 2 && args[0] == "--input":
		return args[1], true
	case len(args) == 1 && strings.HasPrefix(args[0], "--input="):
		return strings.TrimPrefix(args[0], "--input="), true
	}
	return "", false
}

// isFreeTool asks the executor whether tool takes free arguments; when it cannot tell, it says no, and a
// free tool then refuses the input with a message that says to send arguments.
func isFreeTool(sock, tool string) bool {
	tl, err := client.New(sock, 5*time.Second).Tools(context.Background())
	if err != nil {
		return false
	}
	for _, t := range tl.Tools {
		if t.Name == tool {
			return t.FreeArguments
		}
	}
	return false
}

func writeStream(w io.Writer, data, encoding string) {
	if encoding == "base64" {
		if b, err := base64.StdEncoding.DecodeString(data); err == nil {
			_, _ = w.Write(b)
			return
		}
	}
	_, _ = io.WriteString(w, data)
}

func fail(stderr io.Writer, msg string) int {
	_, _ = fmt.Fprintln(stderr, "skillpod-exec: "+msg)
	return exitExecutorError
}

// failErr reports err: an executor's refusal with its status and code, anything else as it is.
func failErr(stderr io.Writer, err error) int {
	if we, ok := errors.AsType[*wire.Error](err); ok {
		return fail(stderr, fmt.Sprintf("refused (%d %s): %s", we.Status, we.Code, we.Message))
	}
	return fail(stderr, err.Error())
}
