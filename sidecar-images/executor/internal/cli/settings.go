package cli

import (
	"encoding/json"
	"io"

	"skillpod.io/executor/internal/server"
)

// Settings is `settings`: the JSON array of the SKILLPOD_* keys serve requires, sorted.
func Settings(stdout io.Writer) int {
	b, _ := json.Marshal(server.SettingKeys())
	_, _ = stdout.Write(append(b, '\n'))
	return 0
}
