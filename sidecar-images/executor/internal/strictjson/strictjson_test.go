package strictjson

import (
	"strings"
	"testing"
)

func TestNoDuplicateKeys(t *testing.T) {
	if err := NoDuplicateKeys([]byte(`[{"a":1,"b":{"c":[{"d":1}]}}]`)); err != nil {
		t.Fatal(err)
	}
	err := NoDuplicateKeys([]byte(`[{"a":1,"argPolicy":{"maxArgs":1,"maxArgs":9}}]`))
	if err == nil || !strings.Contains(err.Error(), `[0].argPolicy: duplicate field "maxArgs"`) {
		t.Fatalf("got %v", err)
	}
}
