package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// InstallDependencies is `pulumi install`: create the project's virtualenv when it is missing, then
// `pip install -r requirements.txt` in the program directory, streaming pip's output to the user.
// Unlike Pulumi's own host it does not upgrade pip, setuptools and wheel: nothing beyond requirements.txt is fetched.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	venv := virtualenvPath(info)
	if venv != "" && !isVirtualenv(venv) {
		fmt.Fprintf(stdout, "Creating virtual environment %s with %s ...\n", venv, basePython())
		cmd := exec.CommandContext(server.Context(), basePython(), "-m", "venv", venv)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := h.run(cmd); err != nil {
			return fmt.Errorf("creating the virtualenv %s with %s: %w", venv, basePython(), err)
		}
	}
	requirements := filepath.Join(dir, "requirements.txt")
	if _, err := os.Stat(requirements); os.IsNotExist(err) {
		fmt.Fprintf(stdout, "No requirements.txt in %s: nothing to install\n", dir)
		return closer.Close()
	}
	python := pythonFor(info)
	fmt.Fprintf(stdout, "Installing %s with %s ...\n", requirements, python)
	cmd := exec.CommandContext(server.Context(), python, "-m", "pip", "install", "-r", "requirements.txt")
	cmd.Dir = dir
	cmd.Env = activate(os.Environ(), venv)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := h.run(cmd); err != nil {
		return fmt.Errorf("`%s -m pip install -r requirements.txt` in %s: %w", python, dir, err)
	}
	fmt.Fprintln(stdout, "Finished installing dependencies")
	return closer.Close()
}

// GetProgramDependencies lists the packages of the program's environment (`pulumi about`), as `pip list` does.
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	if err := missingInterpreter(req.GetInfo()); err != nil {
		return nil, err
	}
	args := []string{"-m", "pip", "list", "--format", "json", "--disable-pip-version-check"}
	if !req.GetTransitiveDependencies() {
		args = append(args, "--not-required")
	}
	python := pythonFor(req.GetInfo())
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Env = activate(os.Environ(), virtualenvPath(req.GetInfo()))
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("`%s %s`: %w", python, strings.Join(args, " "), err)
	}
	deps, err := parsePipList(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func parsePipList(out []byte) ([]*pulumirpc.DependencyInfo, error) {
	var listed []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		return nil, fmt.Errorf("parsing `pip list --format json`: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, len(listed))
	for i, d := range listed {
		deps[i] = &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version}
	}
	return deps, nil
}
