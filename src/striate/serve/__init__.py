"""striate.serve."""
