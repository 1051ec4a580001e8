"""striate.export."""
