"""striate.layers."""
