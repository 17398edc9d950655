"""Dynamic providers, one module per resource; `base` holds what they share."""
