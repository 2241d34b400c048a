"""`assistant eval`: the evaluation harness.

One suite per question we ask of the assistant: does retrieval find the gold documents
(`retrieval`), are the answers grounded, cited and right for the question (`answers`), and do
the adapters read messages correctly (`triage`, `escalation`). Each run writes `result.json`
(the typed `results` models), `report.md` and PNG plots to one folder.
"""
