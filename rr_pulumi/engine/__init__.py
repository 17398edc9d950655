"""The Pulumi engine that rr-pulumi drives: found on PATH, or built from Pulumi's Go modules and cached.

`ensure_engine()` returns a folder holding `pulumi`, the Python language host and the launchers the engine
looks up for Python dynamic providers and policy packs. `engine_env()` is the environment every `pulumi` run
here uses: a local file backend, a passphrase secrets provider, no update checks, no plugin downloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from rr_pulumi.cache import cache_folder

GO_SOURCES = Path(__file__).parent / "gosrc"
LAUNCHERS = Path(__file__).parent / "launchers"
EXECUTABLES = ("pulumi", "pulumi-language-python", "pulumi-resource-pulumi-python", "pulumi-analyzer-policy-python")
DEMO_PASSPHRASE = "rr-pulumi-demo-only"
"""The passphrase of the demo and test stacks. It protects nothing: never use it for a real stack."""

CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
VERSION_SYMBOL = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"


class EngineError(RuntimeError):
    """The engine could not be found or built."""


def pinned_version() -> str:
    """The version of the installed `pulumi` Python package, which the engine must match."""
    return metadata.version("pulumi")


def cache_root() -> Path:
    """Where built engines live: $RR_PULUMI_ENGINE_CACHE, else the user's cache folder."""
    return cache_folder("engine", "RR_PULUMI_ENGINE_CACHE")


def _say(message: str) -> None:
    print(f"[rr-pulumi engine] {message}", file=sys.stderr, flush=True)


def _version_of(pulumi: str) -> str | None:
    try:
        out = subprocess.run([pulumi, "version"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().lstrip("v") or None


def sources_digest() -> str:
    """A digest of our Go sources and launchers, so a changed language host or launcher is rebuilt."""
    digest = hashlib.sha256()
    for path in sorted([*GO_SOURCES.rglob("*"), *LAUNCHERS.iterdir()]):
        if path.is_file():
            digest.update(path.relative_to(GO_SOURCES.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() and os.access(folder / name, os.X_OK) for name in EXECUTABLES)


def ensure_engine(verbose: bool = True) -> Path:
    """Return a folder with a `pulumi` matching the pinned SDK, building and caching it if needed."""
    version = pinned_version()
    on_path = shutil.which("pulumi")
    if on_path and _version_of(on_path) == version and _complete(Path(on_path).parent):
        return Path(on_path).parent
    folder = cache_root() / f"v{version}-{sources_digest()}" / "bin"
    if _complete(folder):
        return folder
    with _build_lock(folder.parent):
        if not _complete(folder):  # another process may have built it while we waited
            _build(version, folder, verbose)
    return folder


@contextmanager
def _build_lock(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pinned_in_go_mod() -> str:
    for line in (GO_SOURCES / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "github.com/pulumi/pulumi/pkg/v3":
            return parts[1].lstrip("v")
    raise EngineError("gosrc/go.mod does not require github.com/pulumi/pulumi/pkg/v3")


def _build(version: str, folder: Path, verbose: bool) -> None:
    go = shutil.which("go")
    if go is None:
        raise EngineError(f"no `pulumi` v{version} on PATH and no Go toolchain to build one; install Go >= 1.26")
    if _pinned_in_go_mod() != version:
        raise EngineError(f"the pulumi Python package is v{version} but the engine sources pin "
                          f"v{_pinned_in_go_mod()}; reinstall rr-pulumi so both match")
    started = time.monotonic()
    _say(f"building the Pulumi engine v{version} from Go modules into {folder} (cold: about 5 minutes on 2 cores)")
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=folder.parent))
    try:
        source = staging / "src"
        shutil.copytree(GO_SOURCES, source)
        out = staging / "bin"
        out.mkdir()
        steps = [
            ("Pulumi CLI", [go, "build", "-trimpath", "-ldflags", f"-X {VERSION_SYMBOL}=v{version}",
                            "-o", str(out / "pulumi"), CLI_PACKAGE]),
            ("Python language host", [go, "build", "-trimpath", "-ldflags", f"-X main.version={version}",
                                      "-o", str(out / "pulumi-language-python"), "./languagehost"]),
        ]
        for label, command in steps:
            _run_with_progress(label, command, source, started, verbose)
        for launcher in LAUNCHERS.iterdir():
            shutil.copy2(launcher, out / launcher.name)
            (out / launcher.name).chmod(0o755)
        took = time.monotonic() - started
        (out / "BUILD-INFO.json").write_text(json.dumps(
            {"pulumi": version, "go": subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip(),
             "build_seconds": round(took, 1)}, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        out.rename(folder)
        _say(f"engine v{version} built in {took:.0f} s; cached at {folder}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_with_progress(label: str, command: list[str], cwd: Path, started: float, verbose: bool) -> None:
    env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "") + " -mod=mod"}
    if verbose:
        _say(f"{label}: go build ...")
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(30):
            _say(f"{label}: still building, {time.monotonic() - started:.0f} s so far")

    if verbose:
        threading.Thread(target=heartbeat, daemon=True).start()
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    finally:
        done.set()
    if result.returncode != 0:
        raise EngineError(f"building the {label} failed:\n{result.stderr[-4000:]}")
    if verbose:
        _say(f"{label}: done at {time.monotonic() - started:.0f} s")


def engine_env(backend_dir: Path | str, passphrase: str = DEMO_PASSPHRASE, base: dict | None = None) -> dict:
    """The environment for running `pulumi` with a local file backend and a passphrase secrets provider."""
    bin_dir = ensure_engine()
    backend = Path(backend_dir).resolve()
    backend.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if base is None else base)
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_HOME": str(backend / ".pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
    })
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return env
