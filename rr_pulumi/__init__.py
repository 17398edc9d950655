"""rr-pulumi: RequestRocket as code, reconciled by Pulumi dynamic providers."""
