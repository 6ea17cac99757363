"""Beyond raw weights: how information flows across layers, what a head writes, what removing it changes."""
