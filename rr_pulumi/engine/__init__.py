"""The Pulumi toolchain rr-pulumi drives: an official `pulumi` in the supported range, else an engine built here.

`find_toolchain()` is the one place that decides which `pulumi` runs (the tools, the testing plugin, the demo, the
tests and the benchmarks all ask it), in this order:

1. `$RR_PULUMI_TOOLCHAIN`, a folder laid out as Pulumi's distribution is (`pulumi`, `pulumi-language-python`, ...):
   used when its `pulumi` is in `SUPPORTED`, refused with the reason otherwise (an explicit choice never falls back);
2. the `pulumi` on `PATH` with Pulumi's Python language host beside it, when its version is in `SUPPORTED`;
3. rr-pulumi's own engine (`engine_version()`, from our go.mod): the cached build, else built from Pulumi's Go
   modules when Go is installed. When that is impossible too, the error names what was found and why it was refused.

`engine_env()` and `DEMO_PASSPHRASE` belong to the demo, the tests and the benchmarks only: they choose a backend
and a passphrase, which a user's own runs never do.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rr_pulumi.api.cache import cache_folder
from rr_pulumi.api.errors import RequestRocketError

GO_SOURCES = Path(__file__).parent / "gosrc"
LAUNCHERS = Path(__file__).parent / "launchers"
LAUNCHER_NAMES = ("pulumi-resource-pulumi-python", "pulumi-analyzer-policy-python", "rr-pulumi-python-module")
EXECUTABLES = ("pulumi", "pulumi-language-python", *LAUNCHER_NAMES)
DEMO_PASSPHRASE = "rr-pulumi-demo-only"
"""The passphrase of the demo and test stacks. It protects nothing: never use it for a real stack."""
PULUMI_MODULE = "github.com/pulumi/pulumi/pkg/v3"

TOOLCHAIN_ENV = "RR_PULUMI_TOOLCHAIN"
SUPPORTED = ((3, 216, 0), (4, 0, 0))
"""The `pulumi` versions rr-pulumi runs with: from the oldest SDK the providers need (3.216.0) up to, not
including, Pulumi 4. Checked end to end at 3.260.0, with Pulumi's own language host and with ours
(docs/toolchain.md)."""
LANGUAGE_HOST = "pulumi-language-python"

CLI_PACKAGE = f"{PULUMI_MODULE}/cmd/pulumi"
VERSION_SYMBOL = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

PROVIDER_FOLDER = "rr-provider"
PROVIDER_STUB = Path(__file__).parent.parent / "templates" / "project" / PROVIDER_FOLDER / LAUNCHER_NAMES[0]
PROJECT_PLUGINS_YAML = (
    "plugins:   # Python dynamic providers served by rr-pulumi's provider server, under any `pulumi`\n"
    "  providers:\n"
    "    - name: pulumi-python\n"
    f"      path: {PROVIDER_FOLDER}\n")
"""The Pulumi.yaml block `rr-pulumi new` and `export` write: Pulumi's project plugins are consulted before PATH and
the plugins bundled with `pulumi` (pkg/resource/plugin/host.go, sdk/go/common/workspace/plugins.go), so the project's
dynamic providers get rr-pulumi's server from any official `pulumi`, without the "using ... from $PATH" warning."""


def write_project_plugin(project: Path) -> Path:
    """Write the executable stub PROJECT_PLUGINS_YAML points at into a project folder; returns its path. The stub only
    hands over to the launcher of the rr-pulumi in the project's virtualenv, so upgrading rr-pulumi upgrades it."""
    path = project / PROVIDER_FOLDER / PROVIDER_STUB.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PROVIDER_STUB.read_text())
    path.chmod(0o755)
    return path


class EngineError(RequestRocketError):
    """The engine could not be found or built."""


def engine_version() -> str:
    """The Pulumi engine version rr-pulumi builds and accepts: the `pkg/v3` version required by gosrc/go.mod."""
    for line in (GO_SOURCES / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == PULUMI_MODULE:
            return parts[1].lstrip("v")
    raise EngineError(f"gosrc/go.mod does not require {PULUMI_MODULE}")


def cache_root() -> Path:
    """Where built engines live: $RR_PULUMI_ENGINE_CACHE, else the user's cache folder."""
    return cache_folder("engine", "RR_PULUMI_ENGINE_CACHE")


def _say(message: str) -> None:
    print(f"[rr-pulumi engine] {message}", file=sys.stderr, flush=True)


def _version_of(pulumi: str) -> str | None:
    """`pulumi version` without its `v`; remembered per executable and modification time (one run per process)."""
    try:
        stamp = os.stat(pulumi).st_mtime_ns
    except OSError:
        return None
    return _version_cached(pulumi, stamp)


@functools.lru_cache(maxsize=16)
def _version_cached(pulumi: str, stamp: int) -> str | None:
    try:
        out = subprocess.run([pulumi, "version"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip().lstrip("v") if out.returncode == 0 and lines else None


def is_engine_source(relative: Path) -> bool:
    """Whether a file (relative to the engine package) determines the engine: an allow-list, so compiled or
    generated files (__pycache__, .pyc written by pip at install time) never change the cache key."""
    parts = relative.parts
    if parts[0] == "launchers":
        return len(parts) == 2 and parts[1] in LAUNCHER_NAMES
    if parts[0] != "gosrc" or "__pycache__" in parts:
        return False
    name = parts[-1]
    return (name in ("go.mod", "go.sum", "exec.py") or name.endswith(".go")) and not name.endswith("_test.go")


def sources_digest() -> str:
    """A digest of our Go sources and launchers, so a changed language host or launcher is rebuilt."""
    digest = hashlib.sha256()
    root = GO_SOURCES.parent
    for path in sorted([*GO_SOURCES.rglob("*"), *LAUNCHERS.iterdir()]):
        relative = path.relative_to(root)
        if path.is_file() and is_engine_source(relative):
            digest.update(relative.as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def engine_folder() -> Path:
    """The cache folder of this release's engine: one per engine version and digest, shared by every install."""
    return cache_root() / f"v{engine_version()}-{sources_digest()}"


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() and os.access(folder / name, os.X_OK) for name in EXECUTABLES)


@dataclass(frozen=True)
class Toolchain:
    """A folder with `pulumi` and its plugins; `origin` says how it was chosen (for messages and `which`)."""

    folder: Path
    version: str
    origin: str

    @property
    def pulumi(self) -> Path:
        return self.folder / "pulumi"


def supported_range() -> str:
    low, high = (".".join(map(str, end)) for end in SUPPORTED)
    return f">={low},<{high}"


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(3, 260, 0) from `pulumi version`'s `v3.260.0` (or `v3.260.0-dev.0`); None when it is not a version."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def _refusal(folder: Path) -> tuple[str | None, str]:
    """(version, "") for a usable toolchain folder, else (its version or None, why it is refused)."""
    pulumi = folder / "pulumi"
    if not (pulumi.is_file() and os.access(pulumi, os.X_OK)):
        return None, f"{folder} has no executable `pulumi`"
    version = _version_of(str(pulumi))
    parsed = parse_version(version or "")
    if parsed is None:
        return None, f"`{pulumi} version` printed no version"
    if not SUPPORTED[0] <= parsed < SUPPORTED[1]:
        return version, f"{pulumi} is v{version}, outside the supported {supported_range()}"
    if not (folder / LANGUAGE_HOST).is_file():
        return version, f"{pulumi} (v{version}) has no `{LANGUAGE_HOST}` beside it"
    return version, ""


def find_toolchain(verbose: bool = True, build: bool = True) -> Toolchain:
    """The `pulumi` rr-pulumi runs (see the module's docstring for the order); builds our engine only as the last
    resort, and only when `build`. Raises EngineError naming every `pulumi` found and why it was refused."""
    chosen = os.environ.get(TOOLCHAIN_ENV, "").strip()
    if chosen:
        folder = Path(chosen).expanduser().resolve()
        folder = folder.parent if folder.is_file() else folder
        version, refused = _refusal(folder)
        if refused:
            raise EngineError(f"{TOOLCHAIN_ENV}={chosen}: {refused}")
        return Toolchain(folder, version or "", TOOLCHAIN_ENV)
    refusals = []
    on_path = shutil.which("pulumi")
    if on_path:
        version, refused = _refusal(Path(on_path).parent)
        if not refused:
            return Toolchain(Path(on_path).parent, version or "", "PATH")
        refusals.append(refused)
    folder = engine_folder() / "bin"
    if _complete(folder):
        return Toolchain(folder, engine_version(), "rr-pulumi engine (cached)")
    if not build:
        raise EngineError(_nothing_usable(refusals) + f"; rr-pulumi's engine (Pulumi v{engine_version()}) is not "
                          "built yet: `rr-pulumi-engine ensure` builds it")
    if shutil.which("go") is None:
        raise EngineError(_nothing_usable(refusals) + f"; no Go toolchain to build rr-pulumi's engine. Install Pulumi "
                          f"{supported_range()} (https://www.pulumi.com/docs/iac/download-install/), or Go >= 1.26 "
                          f"to build Pulumi v{engine_version()}")
    with _build_lock(folder.parent):
        if not _complete(folder):  # another process may have built it while we waited
            _build(engine_version(), folder, verbose)
    return Toolchain(folder, engine_version(), "rr-pulumi engine (built)")


def _nothing_usable(refusals: list[str]) -> str:
    return f"no usable Pulumi: {'; '.join(refusals) or 'no `pulumi` on PATH'} ({TOOLCHAIN_ENV} unset)"


def ensure_engine(verbose: bool = True) -> Path:
    """The folder of the `pulumi` rr-pulumi runs (`find_toolchain`), building our engine only as the last resort."""
    return find_toolchain(verbose).folder


@contextmanager
def _build_lock(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(version: str, folder: Path, verbose: bool) -> None:
    go = shutil.which("go")
    if go is None:
        raise EngineError(f"no Go toolchain to build Pulumi v{version}; install Go >= 1.26")
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
        for name in LAUNCHER_NAMES:
            shutil.copy2(LAUNCHERS / name, out / name)
            (out / name).chmod(0o755)
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


def vet_language_host(verbose: bool = True) -> None:
    """`go vet` over our language host (gosrc), with the build's Go settings and so its module cache: what the engine
    build downloaded is not downloaded again, and on a fresh machine vet downloads what it needs itself. It vets a
    copy, because `-mod=mod` may rewrite go.sum, which is part of the engine's cache key. EngineError on a finding."""
    go = shutil.which("go")
    if go is None:
        raise EngineError("no Go toolchain to vet the language host with; install Go >= 1.26")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rr-pulumi-vet-") as staging:
        source = Path(staging) / "src"
        shutil.copytree(GO_SOURCES, source, ignore=shutil.ignore_patterns("__pycache__"))
        _run_with_progress("language host", [go, "vet", "./..."], source, started, verbose, doing="vet")


def _run_with_progress(label: str, command: list[str], cwd: Path, started: float, verbose: bool,
                       doing: str = "build") -> None:
    """Run a go command as the engine build does (GOFLAGS -mod=mod, the user's GOMODCACHE and GOPROXY), saying
    every 30 s that it is still running: a cold module cache takes minutes to fill."""
    env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "") + " -mod=mod"}
    if verbose:
        _say(f"{label}: go {doing} ... (Go modules: {_go_env('GOMODCACHE', env) or 'GOMODCACHE'}, one cache for "
             "the engine build and vet)")
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(30):
            _say(f"{label}: go {doing} still running, {time.monotonic() - started:.0f} s so far")

    if verbose:
        threading.Thread(target=heartbeat, daemon=True).start()
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    finally:
        done.set()
    if result.returncode != 0:
        raise EngineError(f"go {doing} of the {label} failed:\n{result.stderr[-4000:]}")
    if verbose:
        _say(f"{label}: go {doing} done at {time.monotonic() - started:.0f} s")


def _go_env(name: str, env: dict[str, str]) -> str:
    """One `go env` setting as the go command will see it; empty when go cannot say."""
    go = shutil.which("go")
    if go is None:
        return ""
    result = subprocess.run([go, "env", name], env=env, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def stale_folders() -> list[Path]:
    """Engine folders in the cache other than this release's (other releases may still use theirs)."""
    root, current = cache_root(), engine_folder()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("v") and p != current)


def remove_folder(folder: Path) -> bool:
    """Remove one engine folder unless a build holds its lock; True when removed."""
    lock = folder / ".lock"
    if not lock.exists():
        shutil.rmtree(folder)
        return True
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(folder)
        return True


def path_export(bin_dir: Path, path: str | None = None) -> str:
    """The one shell line that puts the engine first on PATH (for `eval "$(rr-pulumi-engine shell)"`), once: the
    folder is taken out of the current PATH (`path`, default the environment's) before it goes in front, so a
    second eval (a shell profile sourced again) leaves PATH as it was."""
    current = os.environ.get("PATH", "") if path is None else path
    rest = [entry for entry in current.split(os.pathsep) if entry != str(bin_dir)] if current else []
    return f"export PATH={shlex.quote(os.pathsep.join([str(bin_dir), *rest]))}"


def engine_env(backend_dir: Path | str, passphrase: str = DEMO_PASSPHRASE, base: dict | None = None) -> dict:
    """Demo and tests only: the environment for running `pulumi` with a throw-away local file backend and the
    demo passphrase. Never hand this to a user's stack: it replaces their backend, passphrase and PULUMI_HOME."""
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
