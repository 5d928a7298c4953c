package wire

import "encoding/json"

// Tool is one entry of a SkillPack's spec.tools, in the CRD's own field names. The operator writes the pack's
// spec.tools verbatim into SKILLPOD_TOOLS, and GET /v1/tools lists them back, so these JSON names are part of
// the contract. A tool is one of three kinds: typed (Parameters, and Args rendering them), free-argument
// (FreeArguments, checked by ArgPolicy), or without input (neither: its command only). internal/argpolicy
// gives the fields their meaning.
type Tool struct {
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	Command        []string        `json:"command"`
	TimeoutSeconds int             `json:"timeoutSeconds,omitempty"`
	Parameters     json.RawMessage `json:"parameters,omitempty"` // kept as given: GET /v1/tools shows it verbatim
	Args           [][]string      `json:"args,omitempty"`
	FreeArguments  bool            `json:"freeArguments,omitempty"`
	ArgPolicy      *ArgPolicy      `json:"argPolicy,omitempty"`
}

// ArgPolicy restricts the arguments the agent may append to a free-argument tool's command.
type ArgPolicy struct {
	AllowedFlags    []AllowedFlag `json:"allowedFlags,omitempty"`
	DeniedFlags     []string      `json:"deniedFlags,omitempty"`
	AllowedPatterns []string      `json:"allowedPatterns,omitempty"`
	DeniedPatterns  []string      `json:"deniedPatterns,omitempty"`
	MaxArgs         *int          `json:"maxArgs,omitempty"`
	Parser          string        `json:"parser,omitempty"` // getopt (default) | pflag
}

// AllowedFlag is one entry of an allowlist: a flag, and the RE2 its whole value must match (no value: the flag
// takes none).
type AllowedFlag struct {
	Flag  string  `json:"flag"`
	Value *string `json:"value,omitempty"`
}
