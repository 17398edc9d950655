// Command pulumi-language-python is rr-pulumi's own Python language host for the Pulumi engine.
//
// Pulumi's module for its Python host is not served by the Go module proxy reachable here, so rr-pulumi
// builds this small host instead, on the same sdk/v3 gRPC contract. It runs a Python program through
// the exec script embedded below, with the interpreter of the project's `virtualenv` runtime option.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

//go:embed exec.py
var execScript string

// version is set at build time to the Pulumi version this host is built against.
var version = "dev"

// bailExitCode is what exec.py returns after it has already reported the error to the engine.
const bailExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string

	mu       sync.Mutex
	children map[*exec.Cmd]struct{} // running Python processes, killed when the engine goes away
}

func main() {
	engineAddress := ""
	for _, arg := range os.Args[1:] {
		if arg == "-version" || arg == "--version" {
			fmt.Println(version)
			return
		}
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg // the engine passes its address as the last positional argument
		}
	}
	h := &host{engineAddress: engineAddress, children: map[*exec.Cmd]struct{}{}}
	go h.exitWithParent(os.Getppid())
	// Subscribe before serving: the engine may send SIGINT as soon as the port is printed, and a goroutine that
	// had not yet called signal.Notify left a host started with SIGINT ignored running (1 start in 10).
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	go exitOnInterrupt(interrupts)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}

// exitWithParent ends the host and its Python processes once the engine that started it is gone (for example
// a SIGKILLed `pulumi`): the kernel then hands this process to another parent.
func (h *host) exitWithParent(parent int) {
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != parent {
			h.mu.Lock()
			for cmd := range h.children {
				_ = cmd.Process.Kill()
			}
			os.Exit(1)
		}
	}
}

// exitOnInterrupt ends the host on SIGINT or SIGTERM even when it was started with them ignored. The engine
// stops a plugin with SIGINT and kills it only after a cooldown (cmdutil.TerminateProcess), so a host started
// from a background job of a non-interactive shell (SIGINT ignored, which Go then keeps) made every `up` and
// `preview` wait 5 s. Exit status 128 + the signal's number, as a shell reports a process the signal ended.
func exitOnInterrupt(signals <-chan os.Signal) {
	received := <-signals
	number, _ := received.(syscall.Signal)
	os.Exit(128 + int(number))
}

// run runs a command as a child the host kills when the engine goes away.
func (h *host) run(cmd *exec.Cmd) error {
	h.mu.Lock()
	if err := cmd.Start(); err != nil {
		h.mu.Unlock()
		return err
	}
	h.children[cmd] = struct{}{}
	h.mu.Unlock()
	err := cmd.Wait()
	h.mu.Lock()
	delete(h.children, cmd)
	h.mu.Unlock()
	return err
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Plugins are found on PATH (the dynamic provider launcher); a Python program declares none up front.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// About is the language section of `pulumi about`: the interpreter the program runs with and its version.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	if err := missingInterpreter(req.GetInfo()); err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	python := pythonFor(req.GetInfo())
	out, err := exec.CommandContext(ctx, python, "-c",
		"import platform, sys; print(sys.executable); print(platform.python_version())").Output()
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "cannot run %s: %v", python, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, status.Errorf(codes.Internal, "unexpected output from %s: %q", python, out)
	}
	metadata := map[string]string{"toolchain": "pip"}
	if venv := virtualenvPath(req.GetInfo()); venv != "" {
		metadata["virtualenv"] = venv
	}
	return &pulumirpc.AboutResponse{Executable: lines[0], Version: lines[1], Metadata: metadata}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if err := missingInterpreter(req.GetInfo()); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{} // the SDK expects an object, never null
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, err
	}
	program := programPath(req.GetInfo(), req.GetProgram())
	args := []string{"-u", "-c", execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--organization", req.GetOrganization(),
		"--pwd", req.GetPwd(),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--dry-run", strconv.FormatBool(req.GetDryRun()),
		program,
	}
	args = append(args, req.GetArgs()...)
	cmd := exec.CommandContext(ctx, pythonFor(req.GetInfo()), args...)
	cmd.Dir = req.GetPwd()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		"PULUMI_PROJECT="+req.GetProject(),
		"PULUMI_STACK="+req.GetStack(),
		"PULUMI_ORGANIZATION="+req.GetOrganization(),
		"PULUMI_DRY_RUN="+strconv.FormatBool(req.GetDryRun()),
		"PULUMI_MONITOR="+req.GetMonitorAddress(),
		"PULUMI_ENGINE="+h.engineAddress,
	)
	err = h.run(cmd)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == bailExitCode:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("python program exited with code %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("cannot start %s: %v; set the `virtualenv` runtime option "+
			"in Pulumi.yaml and run `pulumi install`, or set PULUMI_PYTHON_CMD", pythonFor(req.GetInfo()), err)}, nil
	}
}

// RunPlugin runs a Python plugin: a policy pack through `python -m pulumi.policy <engine> <pack>`, any other
// plugin as `python <program> <args>`; output streams back to the engine.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if err := missingInterpreter(req.GetInfo()); err != nil {
		return err
	}
	program := programPath(req.GetInfo(), req.GetPwd())
	args := append([]string{"-u", program}, req.GetArgs()...)
	if req.GetKind() == "analyzer" {
		args = append(append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...), program)
	}
	cmd := exec.CommandContext(server.Context(), pythonFor(req.GetInfo()), args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	cmd.Stdout = streamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	code := 0
	if err := h.run(cmd); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter(nil)
