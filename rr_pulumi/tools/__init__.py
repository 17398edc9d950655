"""The `rr-pulumi` command and what it runs: drift, export, recovery, inventory, rules review, scaffolding and the
`pulumi` runner. The top layer: it may import every other."""
