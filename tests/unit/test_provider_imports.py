"""The provider process never imports `requests` or `urllib3` (issue 14: about 40 ms of CPU per process): the
client sends over `http.client`, which the Pulumi SDK has loaded already."""

import subprocess
import sys
import threading

from .local_servers import ApiServer, answer_json

SEND_ONE_REQUEST = """
import importlib, pkgutil, sys
import pulumi.dynamic
import rr_pulumi.provider
for module in pkgutil.iter_modules(rr_pulumi.provider.__path__):
    importlib.import_module("rr_pulumi.provider." + module.name)
from rr_pulumi.api.client import RequestRocketClient
assert RequestRocketClient(sys.argv[1], "u-token").list("/api/clients") == [{"sKey": "c1"}]
print(sorted(name for name in sys.modules if name.partition(".")[0] in ("requests", "urllib3")))
"""


def test_the_provider_modules_and_a_request_load_neither_requests_nor_urllib3():
    before = set(threading.enumerate())
    api = ApiServer(lambda h: answer_json(h, body={"clients": [{"sKey": "c1"}]}))
    api.start()
    try:
        run = subprocess.run([sys.executable, "-c", SEND_ONE_REQUEST, api.url], capture_output=True, text=True,
                             timeout=120)
    finally:
        api.stop()
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert [method for method, *_ in api.seen] == ["GET"]
    assert set(threading.enumerate()) - before == set()
