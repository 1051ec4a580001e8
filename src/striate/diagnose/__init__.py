"""striate.diagnose."""
