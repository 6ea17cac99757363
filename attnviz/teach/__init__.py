"""Pure functions for teaching: attention computed step by step, from scratch or from a real model."""
