"""striate.transfer."""
