"""The training pipeline.

Data builders, LoRA training, fitted heads and the flywheel from logged traffic; the
artifacts go to the top-level `adapters/`.
"""
