"""striate.inspect."""
