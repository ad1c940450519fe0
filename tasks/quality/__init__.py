"""Quality: agreement, truth inference and answer scores for a project's counted answers.

Two layers. Arithmetic on arrays, with no session, models or app (an import-linter contract keeps them so):
agreement.py, inference.py, structures.py; every function returns None (never NaN) where a number is
undefined for the data. Over them, the database side: answers.py turns a project's annotations into those
arrays, consensus.py holds the Consensus value and the one freshness rule, report.py the agreement report,
scores.py what submit and payments ask for.
"""
