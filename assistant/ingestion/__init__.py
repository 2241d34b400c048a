"""Ingestion.

Sources, loaders and readers, crawl, Zendesk, chunking, and the ingest into the store.
"""
