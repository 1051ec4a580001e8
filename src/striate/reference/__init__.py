"""striate.reference."""
