package clip

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	s := Text(long, 81)
	if !strings.HasSuffix(s, "…(400 bytes)") || !strings.HasPrefix(s, strings.Repeat("é", 40)) {
		t.Fatalf("Text = %q", s)
	}
	if Text("abc", 10) != "abc" {
		t.Fatal("short strings must stay")
	}
}
