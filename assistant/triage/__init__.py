"""Triage and escalation, the classification tasks every turn runs.

Zero-shot, fitted classifier or LoRA adapter; their prompts, examples and scores.
"""
