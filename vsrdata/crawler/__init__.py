"""Crawling license-free clips from the web (issue 3): sources, polite HTTP, the catalog."""
