package server

import (
	"fmt"
	"slices"
	"strings"
)

// Every SKILLPOD_* setting serve reads. serve refuses to start (LoadConfig) unless each is present in its
// environment (an empty value means the default): the operator writes all of them into the pod spec, so a skill
// image's own ENV can never supply one the pod spec did not (Kubernetes lets the pod spec's env override the
// image's, including with an empty value). `skillpod-exec settings` prints this list for the operator's tests.
var settingKeys = []string{
	"SKILLPOD_AGENT_UID",
	"SKILLPOD_GATE_INTERVAL",
	"SKILLPOD_IPC_DIR",
	"SKILLPOD_KILL_GRACE",
	"SKILLPOD_MAX_BODY_BYTES",
	"SKILLPOD_MAX_CONCURRENCY",
	"SKILLPOD_MAX_CONNECTIONS",
	"SKILLPOD_MAX_OUTPUT_BYTES",
	"SKILLPOD_MAX_RESULTS",
	"SKILLPOD_MAX_RESULT_BYTES",
	"SKILLPOD_PODINFO_FILE",
	"SKILLPOD_READ_TIMEOUT",
	"SKILLPOD_RESULT_TTL",
	"SKILLPOD_TOOLS",
	"SKILLPOD_WORKDIR",
}

// missingSettings lists the settings absent from environ (KEY=VALUE entries), in order.
func missingSettings(environ []string) []string {
	present := map[string]bool{}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		present[k] = true
	}
	var missing []string
	for _, k := range settingKeys {
		if !present[k] {
			missing = append(missing, k)
		}
	}
	return missing
}

func checkSettings(environ []string) error {
	if m := missingSettings(environ); len(m) > 0 {
		return fmt.Errorf("settings missing from the environment: %s (each must be set explicitly in the pod "+
			"spec, an empty value meaning the default, so that the image's ENV cannot supply it)", strings.Join(m, ", "))
	}
	return nil
}

// SettingKeys is the sorted list of the settings serve requires (`skillpod-exec settings` prints it for the
// operator's tests).
func SettingKeys() []string {
	keys := slices.Clone(settingKeys)
	slices.Sort(keys)
	return keys
}
