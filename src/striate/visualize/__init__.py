"""striate.visualize."""
