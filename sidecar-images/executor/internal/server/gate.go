package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"skillpod.io/executor/internal/clip"
)

// disabledAnnotation lists, comma-separated, the packs switched off in a run (contract).
const disabledAnnotation = "skillpod.io/disabled-skills"

// gate is the switch-off gate: closed while the pack is named in the pod's disabled-skills annotation, read
// from the downward API file. Kubernetes refreshes that file eventually, not at once, so the gate is a second
// line of defence; revoking the RBAC is the first. It reads the file on every check: it is small, and a
// cache would only add delay to a switch-off.
type gate struct {
	path string
	pack string
}

// closed reports whether calls must be refused, and why. A file that is missing, cannot be read or cannot be
// parsed closes the gate: then we cannot tell whether the skill was switched off, and the operator always
// mounts the file, so its absence means something is wrong (an image that moved the path, a pod not built by
// the operator), not that nothing is switched off.
func (g gate) closed() (bool, string) {
	data, err := os.ReadFile(g.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, fmt.Sprintf("the podinfo file %s is missing, so the switch-off annotation cannot be read: "+
			"every tool is off until it exists", g.path)
	}
	if err != nil {
		return true, fmt.Sprintf("cannot read %s: %v", g.path, err)
	}
	packs, err := disabledPacks(data)
	if err != nil {
		return true, err.Error()
	}
	for _, p := range packs {
		if p == g.pack {
			return true, fmt.Sprintf("skill %q is switched off (annotation %s)", g.pack, disabledAnnotation)
		}
	}
	return false, ""
}

// disabledPacks parses the downward API annotations file: one `key="value"` line per annotation, the value
// quoted as Go's %q quotes it (so it is always a single line).
func disabledPacks(data []byte) ([]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // annotations total at most 256 KiB
	for sc.Scan() {
		key, quoted, ok := strings.Cut(sc.Text(), "=")
		if !ok || key != disabledAnnotation {
			continue
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: cannot unquote %s", disabledAnnotation, clip.Text(quoted, 80))
		}
		var packs []string
		for p := range strings.SplitSeq(value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				packs = append(packs, p)
			}
		}
		return packs, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("annotations file: %w", err)
	}
	return nil, nil
}
