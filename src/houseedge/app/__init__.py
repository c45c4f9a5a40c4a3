"""Assembly: build a live engine, its broker and feed from settings."""
