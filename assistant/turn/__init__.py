"""The turn's decisions.

Routing, judgement, evidence, clarification, small talk, answer units, citations,
verification and release.
"""
