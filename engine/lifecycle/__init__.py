"""The I/O edge of the engine: files, threads and databases live here and nowhere in the core.

* :mod:`.decision_log`: the decision log (records, the SQLite store with its journal, PostgreSQL);
* :mod:`.reload`: the serving rulebook and tariffs behind leases, hot reload and the folder watcher;
* :mod:`.impact`: replay of logged decisions or fact files against a candidate rules folder;
* :mod:`.versions`: version discipline beyond the folder's ledger (served, logged, published versions);
* :mod:`.drafts`, :mod:`.publish`, :mod:`.publishes`: the studio's drafts checked as if in their
  folder, publishing them (write, checked reload, record, rollback, other instances), the record.

The command-line side of each is in :mod:`engine.cli`.
"""
