"""Local RequestRocket Core API emulator (see docs/emulator.md)."""
