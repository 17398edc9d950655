"""A RequestRocket organisation as code: a client, the credentials its callers and its upstream use, a target,
a proxy in front of the target and a rule that keeps the proxy read-only. `pulumi up` makes the account match."""

import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

config = pulumi.Config()
region = config.get("region") or "eu-west-1"
org = Client("org", client_name=config.get("clientName") or "Example Org")
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region=region,
                     credential_secret=ApiKeySecret(api_key=config.require_secret("callerKey")))
upstream = Credential("upstream", client_id=org.id, credential_name="upstream", credential_type="target",
                      credential_region=region,
                      credential_secret=BearerSecret(token=config.require_secret("upstreamToken")))
api = Target("api", client_id=org.id, target_name="weather-api", target_base_url="https://api.weather.example",
             target_region=region)
proxy = Proxy("weather", client_id=org.id, proxy_name="weather", proxy_region=region,
              proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream.id,
              proxy_max_requests_per_minute=60, proxy_max_requests_per_day=5000)
Rule("no-writes", client_id=org.id, proxy_id=proxy.id, effect="deny", priority=900,
     methods=["POST", "PUT", "PATCH", "DELETE"])
pulumi.export("proxy_url", proxy.url)
