"""The knowledge base.

The store over Qdrant (Edge or a server), the embedder, sparse vectors and the search tool.
"""
