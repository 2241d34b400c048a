"""Batch ticket triage: read tickets (CSV/JSONL), triage each, write one record per ticket.

``readers`` parses the input, ``writer`` appends whole records and recovers a killed run's
output, ``runner`` drives the model calls, ``summary`` counts the result, ``cli`` is the
``assistant triage-batch`` command.
"""
