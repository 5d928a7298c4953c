package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"skillpod.io/executor/internal/client"
	"skillpod.io/executor/internal/setting"
	"skillpod.io/executor/internal/wire"
)

// Probe is `probe --skill <pack>`, the sidecar's startupProbe: exit 0 only when the executor answers on its
// socket and every tool's command resolves to an executable in this container. A switched-off skill still
// passes: its sidecar must start so that it can be switched on later.
func Probe(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	pack, err := skillFlag("probe", args)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: %v\n", err)
		return 2
	}
	var h wire.Health
	sock, err := client.Socket(setting.IPCDir(getenv), pack)
	if err == nil {
		h, err = client.New(sock, 3*time.Second).Health(context.Background())
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
