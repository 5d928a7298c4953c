package main

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"skillpod.io/executor/internal/client"
	"skillpod.io/executor/internal/server"
	"skillpod.io/executor/internal/wire"
)

// The /ipc layout (one directory per pack), the unlink-own-only rule, and the explicit-settings rule, all
// with the real binary.

func TestSocketLayout(t *testing.T) {
	e := startExecutor(t, opts{pack: "alpha"})
	fi, err := os.Lstat(filepath.Join(e.ipc, "alpha"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Fatalf("pack directory: %v %v", fi, err)
	}
	if fi, err = os.Lstat(e.sock); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("socket at <dir>/<pack>/exec.sock: %v", err)
	}
	// Things list must skip: a symbolic link to the real pack dir, a pack dir whose exec.sock is a regular
	// file, a socket at the old place <dir>/<pack>.sock, and a directory that is not a pack name.
	if err := os.Symlink(filepath.Join(e.ipc, "alpha"), filepath.Join(e.ipc, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(e.ipc, "fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(e.ipc, "fake", "exec.sock"), "not a socket")
	old, err := net.Listen("unix", filepath.Join(e.ipc, "old.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := os.Mkdir(filepath.Join(e.ipc, "Not_A_Pack"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.cli("", "list", "--json")
	var all struct{ Skills []wire.ToolList }
	mustJSON(t, []byte(out), &all)
	if code != 0 || len(all.Skills) != 1 || all.Skills[0].Skill != "alpha" {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	if packs, _ := client.Discover(e.ipc); !slices.Equal(packs, []string{"alpha"}) {
		t.Fatalf("client.Discover = %q", packs)
	}
	// Named explicitly, they are refused with the reason, and call refuses them too.
	for pack, want := range map[string]string{"linked": "not a directory", "fake": "not a socket", "old": "no skill"} {
		if code, _, errOut := e.cli("", "list", pack); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("list %s: %d %q, want %q", pack, code, errOut, want)
		}
		if code, _, errOut := e.cli("", "call", pack, "echo"); code != 125 || !strings.Contains(errOut, want) {
			t.Errorf("call %s: %d %q, want %q", pack, code, errOut, want)
		}
	}
	if code, _, _ := e.cli("", "probe", "--skill", "alpha"); code != 0 {
		t.Fatal("probe on the new layout")
	}
}

func TestPackDirMustBeADirectory(t *testing.T) {
	dir := t.TempDir()
	target := t.TempDir()
	if err := os.Symlink(target, filepath.Join(dir, "demo")); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=/usr/bin:/bin"}, settingsEnv(map[string]string{"SKILLPOD_IPC_DIR": dir,
		"SKILLPOD_WORKDIR": dir, "SKILLPOD_AGENT_UID": "0", "SKILLPOD_TOOLS": `[{"name":"x","command":["ls"]}]`})...)
	code, _, errOut := runCLI(t, env, nil, "", "serve", "--skill", "demo")
	if code == 0 || !strings.Contains(errOut, "is not a directory") {
		t.Fatalf("a symlinked pack directory: %d %q", code, errOut)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Fatal("the socket was created through the link")
	}
}

func TestUnlinksOnlyItsOwnSocket(t *testing.T) {
	// Normal exit: its own socket goes.
	e := startExecutor(t, opts{})
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	if !e.waitExit(5 * time.Second) {
		t.Fatal("no exit after SIGTERM")
	}
	if _, err := os.Lstat(e.sock); err == nil {
		t.Fatal("the executor left its own socket behind")
	}

	// Replaced: a socket of someone else at the same path (a newer container of the pod) stays.
	e = startExecutor(t, opts{})
	if err := os.Remove(e.sock); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	other.(*net.UnixListener).SetUnlinkOnClose(false)
	defer other.Close()
	neighbour := filepath.Join(e.ipc, "other", "exec.sock") // and another pack's file is never touched
	if err := os.MkdirAll(filepath.Dir(neighbour), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, neighbour, "x")
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	if !e.waitExit(5 * time.Second) {
		t.Fatal("no exit after SIGTERM")
	}
	if fi, err := os.Lstat(e.sock); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("the executor removed a socket it did not create: %v", err)
	}
	if _, err := os.Lstat(neighbour); err != nil {
		t.Fatal("another pack's file was removed")
	}
}

func TestEverySettingMustBeExplicit(t *testing.T) {
	code, out, _ := runCLI(t, nil, nil, "", "settings")
	var keys []string
	mustJSON(t, []byte(out), &keys)
	if code != 0 || !slices.IsSorted(keys) || !slices.Contains(keys, "SKILLPOD_MAX_CONNECTIONS") || len(keys) != len(server.SettingKeys()) {
		t.Fatalf("settings: %d %s", code, out)
	}
	dir := t.TempDir()
	full := settingsEnv(map[string]string{"SKILLPOD_IPC_DIR": dir, "SKILLPOD_WORKDIR": dir, "SKILLPOD_AGENT_UID": "0",
		"SKILLPOD_TOOLS": `[{"name":"x","command":["ls"]}]`, "SKILLPOD_PODINFO_FILE": filepath.Join(dir, "podinfo")})
	for _, key := range keys {
		// Without the key the start is refused and the key named, even though every setting has a default:
		// a value the image's ENV supplied is exactly what this prevents.
		var env []string
		for _, kv := range full {
			if !strings.HasPrefix(kv, key+"=") {
				env = append(env, kv)
			}
		}
		code, _, errOut := runCLI(t, append(env, "PATH=/usr/bin:/bin"), nil, "", "serve", "--skill", "demo")
		if code == 0 || !strings.Contains(errOut, "settings missing") || !strings.Contains(errOut, key) {
			t.Errorf("without %s: exit %d, %q", key, code, errOut)
		}
	}
}
