"""Rule tests for your own stacks: deploy them against the local emulator and call the proxies.

    def test_partners_cannot_delete(requestrocket):            # the fixture comes with rr-pulumi's pytest plugin
        gateway = requestrocket.deploy(".", config={"upstreamUrl": requestrocket.upstream_url}).gateway("partners")
        assert gateway.call("DELETE", "/invoices/1", as_=api_key("pk-test")).denied_by == "no-deletes"

See README.md, "Test your rules".
"""
from rr_pulumi.testing.echo import EchoServer, Received
from rr_pulumi.testing.gateway import CallResult, Gateway, RuleRef, api_key, basic, bearer, signed_jwt

__all__ = ["CallResult", "Deployment", "EchoServer", "Gateway", "Received", "RuleRef", "RulesTestEnvironment",
           "api_key", "basic", "bearer", "signed_jwt"]


def __getattr__(name: str):
    # The environment needs the emulator extra and the engine: imported only when used.
    if name in ("RulesTestEnvironment", "Deployment"):
        from rr_pulumi.testing import environment

        return getattr(environment, name)
    raise AttributeError(name)
