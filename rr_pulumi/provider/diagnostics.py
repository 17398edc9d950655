"""rr-pulumi's own errors as one line in the engine's output, tracebacks only on request.

Pulumi's dynamic provider server (`pulumi/dynamic/__main__.py`) answers any exception of a provider method with
`context.abort(UNKNOWN, traceback.format_exc())`, and the engine prints that text under the resource: 15-25 lines
of server and provider frames before the one useful line. The server looks `traceback` up in its module globals
at call time, so `install()` gives it a stand-in whose `format_exc` returns just the message for a
RequestRocketError (an error rr-pulumi raises on purpose, whose text says what is wrong and how to fix it). Any
other exception (a bug) keeps its full traceback, and so does everything when the user asks for it with
RR_PULUMI_TRACEBACK=1 (or `pulumi ... -v=N --logflow`, which passes `-v=N` to the provider).
"""

from __future__ import annotations

import os
import sys
import traceback
from types import ModuleType
from typing import Any, Optional, Sequence

from rr_pulumi.api.errors import RequestRocketError

TRACEBACK_ENV = "RR_PULUMI_TRACEBACK"
_SERVER_MODULE = "pulumi.dynamic.__main__"


def tracebacks_wanted(env: Optional[dict[str, str]] = None, argv: Optional[Sequence[str]] = None) -> bool:
    """Whether the user asked for tracebacks: RR_PULUMI_TRACEBACK set to a true value, or a `-v=N` flag (N > 0)."""
    env = dict(os.environ) if env is None else env
    argv = sys.argv if argv is None else argv
    if env.get(TRACEBACK_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    for arg in argv:
        if arg.startswith("-v=") and arg[3:].isdigit() and int(arg[3:]) > 0:
            return True
    return False


def short_text(error: Optional[BaseException]) -> Optional[str]:
    """The one-line text of an rr-pulumi error (None: print the traceback)."""
    if isinstance(error, RequestRocketError) and not tracebacks_wanted():
        return " ".join(str(error).split("\n"))
    return None


class _ShortTracebacks(ModuleType):
    """The `traceback` module, except that `format_exc` gives rr-pulumi's errors as one line."""

    def __init__(self) -> None:
        super().__init__("traceback")

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def format_exc(self, *args: Any, **kwargs: Any) -> str:  # noqa: D102 - same signature as traceback.format_exc
        text = short_text(sys.exc_info()[1])
        return text if text is not None else traceback.format_exc(*args, **kwargs)


def install() -> None:
    """In Pulumi's dynamic provider server process, shorten rr-pulumi's errors (elsewhere: nothing)."""
    server = sys.modules.get("__main__")
    spec = getattr(server, "__spec__", None)
    if server is None or getattr(spec, "name", None) != _SERVER_MODULE:
        return
    if getattr(server, "traceback", None) is traceback:
        server.traceback = _ShortTracebacks()  # type: ignore[attr-defined]
