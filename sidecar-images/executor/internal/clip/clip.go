// Package clip bounds text a caller chose (a name, an argument, a value) before it goes into an error message
// or the audit trail.
package clip

import "fmt"

// Text cuts s to at most max bytes (on a rune boundary) and says how long it was.
func Text(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
