"""The I/O edge of the engine: the decision log stores and their journal, hot reload of the rule and
tariff folders, and impact replay. Files, threads and databases live here and nowhere in the core.
"""
