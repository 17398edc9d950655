package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func info(t *testing.T, root string, options map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: root, ProgramDirectory: root, EntryPoint: ".", Options: opts}
}

func TestRuntimeOptionReadsStringsOnly(t *testing.T) {
	i := info(t, "/p", map[string]any{"virtualenv": "venv", "toolchain": 3.0})
	if got := runtimeOption(i, "virtualenv"); got != "venv" {
		t.Errorf("virtualenv = %q", got)
	}
	if got := runtimeOption(i, "toolchain"); got != "" {
		t.Errorf("a number is not a string option, got %q", got)
	}
	if got := runtimeOption(nil, "virtualenv"); got != "" {
		t.Errorf("nil info gives %q", got)
	}
}

func TestVirtualenvIsRelativeToTheProjectRoot(t *testing.T) {
	if got := virtualenvPath(info(t, "/work/infra", map[string]any{"virtualenv": "venv"})); got != "/work/infra/venv" {
		t.Errorf("relative: %q", got)
	}
	if got := virtualenvPath(info(t, "/work/infra", map[string]any{"virtualenv": "/opt/venv"})); got != "/opt/venv" {
		t.Errorf("absolute: %q", got)
	}
	if got := virtualenvPath(info(t, "/work/infra", nil)); got != "" {
		t.Errorf("none: %q", got)
	}
}

func TestPythonForPrefersTheVirtualenvThenPulumiPythonCmd(t *testing.T) {
	t.Setenv("PULUMI_PYTHON_CMD", "")
	if got := pythonFor(info(t, "/p", map[string]any{"virtualenv": "venv"})); got != "/p/venv/bin/python" {
		t.Errorf("with virtualenv: %q", got)
	}
	if got := pythonFor(info(t, "/p", nil)); got != "python3" {
		t.Errorf("default: %q", got)
	}
	t.Setenv("PULUMI_PYTHON_CMD", "/usr/bin/python3.12")
	if got := pythonFor(info(t, "/p", nil)); got != "/usr/bin/python3.12" {
		t.Errorf("PULUMI_PYTHON_CMD: %q", got)
	}
}

func TestProgramPathJoinsTheEntryPoint(t *testing.T) {
	i := &pulumirpc.ProgramInfo{ProgramDirectory: "/p/src", EntryPoint: "main.py"}
	if got := programPath(i, "fallback"); got != "/p/src/main.py" {
		t.Errorf("entry point: %q", got)
	}
	if got := programPath(&pulumirpc.ProgramInfo{ProgramDirectory: "/p"}, "fallback"); got != "/p" {
		t.Errorf("no entry point: %q", got)
	}
	if got := programPath(nil, "fallback"); got != "fallback" {
		t.Errorf("nil info: %q", got)
	}
}

func TestMissingInterpreterNamesTheFix(t *testing.T) {
	root := t.TempDir()
	i := info(t, root, map[string]any{"virtualenv": "venv"})
	err := missingInterpreter(i)
	if err == nil || !strings.Contains(err.Error(), "pulumi install") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing venv: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "venv", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := missingInterpreter(i); err == nil || !strings.Contains(err.Error(), "has no bin/python") {
		t.Fatalf("empty venv: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "venv", "bin", "python"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := missingInterpreter(i); err != nil {
		t.Fatalf("complete venv: %v", err)
	}
	if err := missingInterpreter(info(t, root, nil)); err != nil {
		t.Fatalf("no virtualenv option: %v", err)
	}
}

func TestActivatePutsTheVirtualenvFirstOnPath(t *testing.T) {
	env := activate([]string{"PATH=/usr/bin", "PYTHONHOME=/x", "VIRTUAL_ENV=/old", "HOME=/root"}, "/p/venv")
	want := []string{"HOME=/root", "PATH=/p/venv/bin:/usr/bin", "VIRTUAL_ENV=/p/venv"}
	if strings.Join(env, "|") != strings.Join(want, "|") {
		t.Errorf("got %v", env)
	}
	if got := activate([]string{"PATH=/usr/bin"}, ""); len(got) != 1 {
		t.Errorf("no virtualenv changes nothing: %v", got)
	}
}

func TestPipListParsesNamesAndVersions(t *testing.T) {
	deps, err := parsePipList([]byte(`[{"name": "pulumi", "version": "3.216.0"}, {"name": "rr-pulumi", "version": "0.1.0"}]`))
	if err != nil || len(deps) != 2 || deps[0].GetName() != "pulumi" || deps[1].GetVersion() != "0.1.0" {
		t.Errorf("got %v, %v", deps, err)
	}
	if _, err := parsePipList([]byte("not json")); err == nil {
		t.Error("bad output must be an error")
	}
}
