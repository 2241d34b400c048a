"""Batch ticket triage: read tickets (CSV/JSONL/Parquet), triage each, write one record per
ticket.

``readers`` parses the input, ``writer`` appends whole records and recovers a killed run's
output, ``runner`` drives the model calls, ``summary`` counts the result, ``cli`` is the
``assistant triage-batch`` command. With ``--ray``: ``blocks`` cuts the input into row ranges
and keeps their part files, ``ray_cluster`` joins or starts Ray, ``ray_worker`` is the Ray
Data worker, ``ray_runner`` drives them.
"""
