# The `requestrocket` fixture comes from rr-pulumi's pytest plugin (installed with rr-pulumi); naming it here keeps
# the tests working where the plugin's entry point is not registered.
pytest_plugins = ["rr_pulumi.testing.plugin"]
