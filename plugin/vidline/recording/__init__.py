"""Recording: the interaction's media, timeline and files (snips), on disk."""
