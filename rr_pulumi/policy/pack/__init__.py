"""The pack folder itself (PulumiPolicy.yaml and __main__.py); a package so that installs always ship it."""
