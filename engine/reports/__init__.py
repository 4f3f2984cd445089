"""The report engine: chart and dashboard definitions compiled to SQL."""
