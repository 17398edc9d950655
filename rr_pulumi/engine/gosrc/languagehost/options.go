package main

import (
	"fmt"
	"os"
	"path/filepath"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// runtimeOption is a string option of the project's runtime (Pulumi.yaml `runtime.options`), or "".
func runtimeOption(info *pulumirpc.ProgramInfo, key string) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	if v, ok := info.GetOptions().GetFields()[key]; ok {
		if s, ok := v.GetKind().(*structpb.Value_StringValue); ok {
			return s.StringValue
		}
	}
	return ""
}

// virtualenvPath is the absolute folder of the `virtualenv` option (relative to the project root), or "".
func virtualenvPath(info *pulumirpc.ProgramInfo) string {
	venv := runtimeOption(info, "virtualenv")
	if venv == "" || filepath.IsAbs(venv) {
		return venv
	}
	return filepath.Join(info.GetRootDirectory(), venv)
}

// pythonFor picks the interpreter: the `virtualenv` runtime option, then PULUMI_PYTHON_CMD, then python3.
func pythonFor(info *pulumirpc.ProgramInfo) string {
	if venv := virtualenvPath(info); venv != "" {
		return filepath.Join(venv, "bin", "python")
	}
	return basePython()
}

// basePython is the interpreter used without a virtualenv and to create one.
func basePython() string {
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd
	}
	return "python3"
}

// programPath is the program to run: the entry point inside the program directory.
func programPath(info *pulumirpc.ProgramInfo, fallback string) string {
	if info == nil {
		return fallback
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	return filepath.Join(info.GetProgramDirectory(), entry)
}

// isVirtualenv says whether a folder holds a Python interpreter at bin/python.
func isVirtualenv(dir string) bool {
	stat, err := os.Stat(filepath.Join(dir, "bin", "python"))
	return err == nil && !stat.IsDir()
}

// missingInterpreter explains a virtualenv without an interpreter and names the fix, or returns nil.
func missingInterpreter(info *pulumirpc.ProgramInfo) error {
	venv := virtualenvPath(info)
	if venv == "" || isVirtualenv(venv) {
		return nil
	}
	state := "has no bin/python"
	if _, err := os.Stat(venv); os.IsNotExist(err) {
		state = "does not exist"
	}
	return fmt.Errorf("the virtualenv %q named in Pulumi.yaml (%s) %s; run `pulumi install` to create it and "+
		"install requirements.txt", runtimeOption(info, "virtualenv"), venv, state)
}

// activate is the environment of a command run inside the virtualenv (as `source venv/bin/activate` would).
func activate(environ []string, venv string) []string {
	if venv == "" {
		return environ
	}
	result := make([]string, 0, len(environ)+2)
	path := filepath.Join(venv, "bin")
	for _, kv := range environ {
		switch {
		case len(kv) >= 5 && kv[:5] == "PATH=":
			path += string(os.PathListSeparator) + kv[5:]
		case len(kv) >= 11 && kv[:11] == "PYTHONHOME=", len(kv) >= 12 && kv[:12] == "VIRTUAL_ENV=":
		default:
			result = append(result, kv)
		}
	}
	return append(result, "PATH="+path, "VIRTUAL_ENV="+venv)
}
