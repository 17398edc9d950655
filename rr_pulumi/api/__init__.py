"""The Core API client: configuration, the HTTP transport, the retry policy, the rate budget, the collection cache
and the one errors module. Imports nothing of rr-pulumi but `rr_pulumi.schema`."""
