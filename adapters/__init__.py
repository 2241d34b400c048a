"""LoRA adapters: data builders, training, registry (installed as `assistant.adapters`)."""
