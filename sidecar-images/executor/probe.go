package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// probeCmd is the sidecar's startupProbe: exit 0 only when the executor answers on its socket and every
// tool's command resolves to an executable in this container. A switched-off skill still passes: its
// sidecar must start so that it can be switched on later.
func probeCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	pack, err := skillFlag("probe", args)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "skillpod-exec: "+err.Error())
		return 2
	}
	var h healthView
	sock, err := clientSocket(ipcDir(getenv), pack)
	if err == nil {
		err = newIPCClient(sock, 3*time.Second).do(http.MethodGet, "/v1/health", nil, &h)
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: probe %s: %v\n", pack, err)
		return 1
	}
	if !h.Ready {
		for _, t := range h.Tools {
			if !t.OK {
				_, _ = fmt.Fprintf(stderr, "skillpod-exec: probe %s: tool %s: %s\n", pack, t.Name, t.Error)
			}
		}
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "%s ready: %d tools\n", pack, len(h.Tools))
	return 0
}
