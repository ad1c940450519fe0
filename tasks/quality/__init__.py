"""Quality arithmetic on arrays: agreement, truth inference, structure matching. No session, no Flask.

Callers (tasks/quality_service.py) turn annotations into the arrays these functions take; every
function returns None (never NaN) where a number is undefined for the data.
"""
