"""Publish: the reader side — pages, search, feeds, sitemaps and a JSON API."""
