"""Transfer learning: CNN codes, LIBLINEAR classifiers on them, fine-tuning with frozen layers,
and the strategies side by side (see docs/transfer.md)."""
