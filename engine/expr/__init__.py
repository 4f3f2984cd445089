"""The one condition + formula language (conditions now; formulas and the Python back end come next)."""
