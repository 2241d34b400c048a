"""hybrid-assistant: fine-tune the form, RAG the facts."""
