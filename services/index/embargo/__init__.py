"""Embargoes: a story indexed under a future embargo is released to caches, related lists and subscribers
when the embargo lifts (readers' queries hide it until then by themselves: shared/es.py ONLY_PUBLISHED)."""
