"""What rule files and tariff files share: the YAML loader that remembers positions, the one checker of
their common parts (texts, citations, readings, gaps, sources, ids, dates), the shared types and the
list of source documents. Pure: reads files, imports nothing from the rest of the engine but errors.
"""
