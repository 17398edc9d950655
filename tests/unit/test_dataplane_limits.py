"""The data plane's per-proxy windows: a fixed minute and a fixed day, each opened by its first request."""
from rr_pulumi.emulator.dataplane import ProxyLimits, _split


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_minute_and_day_windows_with_retry_after():
    clock = Clock()
    limits = ProxyLimits(clock)
    assert [limits.take("p", 2, 3) for _ in range(2)] == [None, None]
    clock.now += 20
    assert limits.take("p", 2, 3) == ("minute", 40)          # refused calls do not count
    assert limits.take("other", 2, 3) is None                # per proxy
    clock.now += 40
    assert limits.take("p", 2, 3) is None                    # a new minute: the day has 3 of 3 now
    clock.now += 60
    assert limits.take("p", 2, 3) == ("day", 86400 - 120)
    limits.reset()
    assert limits.take("p", 2, 3) is None


def test_paths_below_the_proxy_keep_their_encoding_for_the_target():
    scope = {"path": "/dataplane/api/abc/a b/c", "raw_path": b"/dataplane/api/abc/a%20b/c"}
    assert _split(scope) == ("abc", "/a b/c", "/a%20b/c")
    assert _split({"path": "/dataplane/api/abc", "raw_path": b"/dataplane/api/abc"}) == ("abc", "/", "/")
    assert _split({"path": "/dataplane/x", "raw_path": b"/dataplane/x"})[0] == ""
