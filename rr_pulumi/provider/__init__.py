"""Dynamic providers, one module per resource; `_base` holds what they share."""
