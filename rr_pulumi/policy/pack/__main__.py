# The rr-pulumi guardrails policy pack: `python -m pulumi.policy <engine> <this folder>` runs this file.
from rr_pulumi.policy.policies import serve

serve()
