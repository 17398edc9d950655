"""The organisation guardrails policy pack for rr-pulumi stacks (`pulumi preview --policy-pack <folder>`).

    python -m rr_pulumi.policy          # prints the pack folder to pass to --policy-pack

`view` turns what the policy SDK hands over into plain resource views, `checks` decides, `policies` names,
describes and configures each policy, `location` says where the pack is, and `pack/` is the pack itself.
"""
