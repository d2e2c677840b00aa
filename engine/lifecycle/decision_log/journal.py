"""The write-ahead journal of a decision-log shard: durable before the answer, in SQLite soon after.

A SQLite commit cost a single decision about 40 µs in-process and, measured inside the server's
workers, about 100 µs of CPU: over HTTP the log took a third of the service's requests/s
(docs/benchmarks.md). Appending one line to a file costs a few µs and is just as durable against a
crash of the process: once ``write()`` returns, the bytes belong to the operating system, which is what
SQLite's ``synchronous=NORMAL`` commit gives too (and ``fsync`` after the write gives what ``FULL``
gives). So a shard's writer appends each request's rows to a journal file before the answer, and its
background thread moves them into the SQLite file in one transaction per round.

Files, next to the shard ``<shard>``: ``<shard>.journal.<n>``, numbered upwards. The writer appends to
the newest. Each round the background thread switches the writer to a new number (under the write
lock, a few µs), then copies the closed files into SQLite, recording the highest number copied
(``journal_state.copied_through``) in the same transaction, and deletes them. A file is therefore
either not yet copied (number above ``copied_through``) or copied and about to be deleted, never half
of each. A line is one request's rows as a JSON array; a last line without its newline is a write that
a crash cut off, whose answer was never sent, and is skipped.

Readers (another worker, the CLI) read the journal files first, then take one SQLite snapshot and keep
the rows of the files numbered above its ``copied_through`` (:func:`pending_rows`).

A line is only durable while the file it went to is the one the log's folder names. If the folder is
removed (or renamed, or replaced), ``write()`` keeps succeeding on a file nobody will ever read, so
each append checks afterwards that the journal's path still leads to the file it wrote (one ``stat``,
about 1 µs), and each round of the background thread checks the SQLite file the same way before it
deletes what it copied. On a mismatch, or when a new file cannot be started, the journal is *broken*
(:class:`BrokenJournal`): it refuses every append from then on, the caller answers 503, and the store
starts a new journal once the folder is back (:class:`~.sqlite.SQLiteDecisionLog`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    copied_through INTEGER NOT NULL
);
INSERT OR IGNORE INTO journal_state (id, copied_through) VALUES (1, 0);
"""

Row = Sequence[object]

#: A file's identity: the same file as long as both numbers are the same (``st_dev``, ``st_ino``).
Identity = tuple[int, int]


class BrokenJournal(OSError):
    """The journal's files are no longer where the log lives (the folder was removed, renamed or
    replaced, or a new journal file could not be started): nothing more may be appended to it."""


def identity_of(path: Path) -> Identity | None:
    """The identity of the file at ``path``, or None when there is none (or it cannot be seen)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def journal_files(shard: Path) -> list[tuple[int, Path]]:
    """The journal files of ``shard`` that exist, by number."""
    prefix = f"{shard.name}.journal."
    found = []
    for path in shard.parent.glob(f"{shard.name}.journal.*"):
        number = path.name[len(prefix) :]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def copied_through(connection: sqlite3.Connection) -> int:
    """The highest journal number whose rows are in the SQLite file (0: none, or no journal yet)."""
    try:
        row = connection.execute("SELECT copied_through FROM journal_state").fetchone()
    except sqlite3.OperationalError:  # a file from before the journal: nothing copied from one
        return 0
    return int(row[0]) if row else 0


def complete_lines(data: bytes) -> list[bytes]:
    """The complete lines of a journal file's bytes (a cut-off last line is left out)."""
    end = data.rfind(b"\n") + 1
    return [line for line in data[:end].split(b"\n") if line]


def rows_of(data: bytes) -> list[list[object]]:
    """The rows of every complete line of a journal file's bytes."""
    rows: list[list[object]] = []
    for line in complete_lines(data):
        rows.extend(orjson.loads(line))
    return rows


def rows_in(path: Path) -> list[list[object]]:
    return rows_of(path.read_bytes())


def insert_from_json(table: str, columns: Sequence[str]) -> str:
    """SQL that inserts, in order, the rows of one parameter: a JSON array of journal lines.

    SQLite parses the JSON inside one statement, and Python's ``sqlite3`` releases the GIL while a
    statement runs, so the requests served by the same process never wait for the copy. Parsing the
    lines in Python and binding them with ``executemany`` held the GIL in stretches up to the
    interpreter's 5 ms switch interval, and a request arriving meanwhile waited: that was the log's
    share of the p99 latency (docs/benchmarks.md, section 3). ``json_extract`` gives each value the type
    binding the parsed value gave: text, integer, NULL; true/false as 1/0. Only a string with an
    escaped NUL comes out cut off at the NUL, so such a file goes through :func:`insert_rows`.
    """
    values = ", ".join(f"json_extract(row.value, '$[{i}]')" for i in range(len(columns)))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "
        "FROM json_each(CAST(? AS TEXT)) AS line, json_each(line.value) AS row "
        "ORDER BY line.key, row.key"
    )


def insert_rows(table: str, columns: Sequence[str]) -> str:
    """SQL that inserts one row bound value by value (for ``executemany``)."""
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


#: How JSON writes a NUL character, which SQLite's JSON functions end a string at.
_ESCAPED_NUL = b"\\u0000"


def read_journal(shard: Path) -> list[tuple[int, list[list[object]]]]:
    """The rows of each journal file of ``shard``, by number; files that vanish while we read were
    copied into SQLite meanwhile and are left out (see :func:`pending_rows`)."""
    found = []
    for number, path in journal_files(shard):
        try:
            found.append((number, rows_in(path)))
        except FileNotFoundError:
            continue
    return found


def pending_rows(
    journal: list[tuple[int, list[list[object]]]], copied: int
) -> Iterator[list[object]]:
    """The rows of ``journal`` (read *before* the SQLite snapshot that says ``copied``) that the
    snapshot does not hold: those of the files numbered above ``copied``.

    Reading the files first makes the pair consistent without retries: a file copied while the files
    were read has a number ``<= copied`` in the later snapshot, so its rows come from SQLite; a file
    numbered above ``copied`` was not copied before the snapshot, so it existed when the files were
    listed (rows appended after that were acknowledged after the query began).
    """
    for number, rows in journal:
        if number > copied:
            yield from rows


def _earliest(first: float | None, second: float | None) -> float | None:
    known = [t for t in (first, second) if t is not None]
    return min(known) if known else None


class Journal:
    """The writing side: one process appends (the shard's owner), its background thread copies."""

    def __init__(
        self,
        shard: Path,
        connection: sqlite3.Connection,
        table: str,
        columns: Sequence[str],
        synchronous: str,
    ) -> None:
        """``connection``: the shard's SQLite file, used only to copy (by one thread at a time);
        ``table`` and ``columns``: where a row's values go, in the order of the row."""
        self.shard = shard
        self._insert_json = insert_from_json(table, columns)
        self._insert_row = insert_rows(table, columns)
        self._columns = tuple(columns)
        self.fsync = synchronous == "full"
        self.lock = threading.Lock()  # one append or switch at a time
        self._copy_lock = threading.Lock()  # one copy at a time (the thread, or close)
        self._connection = connection
        self._connection.executescript(JOURNAL_SCHEMA)
        self._database = identity_of(shard)  # the SQLite file the connection writes
        self.broken: str | None = None  # why nothing more may be appended, once it is so
        self._fd = -1
        self.copy_all()  # what a crashed predecessor left behind
        numbers = [n for n, _ in journal_files(shard)]
        self._number = max([copied_through(self._connection), *numbers]) + 1
        self._fd, self._path, self._identity, self._size = self._open(self._number)
        self.written = False  # anything appended since the last copy
        # The backlog (rows journalled, not yet in SQLite): of the open file, and of closed files
        # waiting for a copy; each with when its oldest row was written (monotonic seconds).
        self._open_rows = 0
        self._open_since: float | None = None
        self._closed_rows = 0
        self._closed_since: float | None = None

    def _open(self, number: int) -> tuple[int, Path, Identity, int]:
        """A journal file opened for appending: its descriptor, path, identity and size (this
        process is the file's only writer, so the size is known from then on)."""
        path = self.shard.with_name(f"{self.shard.name}.journal.{number}")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            found = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        return fd, path, (found.st_dev, found.st_ino), found.st_size

    def append(self, rows: Sequence[Row]) -> None:
        """Write ``rows`` as one line; on return they survive a crash of this process.

        :raise BrokenJournal: the journal's file is no longer in the log's folder (the line, if
            written, went nowhere); the caller must not answer, and must start a new journal.
        :raise OSError: the line could not be written (the caller must not answer).
        """
        line = orjson.dumps(rows) + b"\n"
        with self.lock:
            if self.broken is not None:
                raise BrokenJournal(self.broken)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
                if self.fsync:
                    os.fsync(self._fd)
            except OSError:
                # A line cut off here (a full disk) would glue itself to the next one: cut it away.
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError as exc:
                    self._break(f"a partly written line cannot be cut away ({exc})")
                raise
            self._size += len(line)
            self.written = True
            self._open_rows += len(rows)
            if self._open_since is None:
                self._open_since = time.monotonic()
            if identity_of(self._path) != self._identity:  # after the write: see the module's doc
                raise self._break(f"the journal file {self._path} is no longer in the log's folder")

    def check(self) -> None:
        """Raise :class:`BrokenJournal` unless the journal and its SQLite file are where the log
        lives (for readiness: what an append would find)."""
        with self.lock:
            self._verify()

    def _verify(self) -> None:
        """:meth:`check`, with :attr:`lock` held."""
        if self.broken is not None:
            raise BrokenJournal(self.broken)
        if identity_of(self._path) != self._identity:
            raise self._break(f"the journal file {self._path} is no longer in the log's folder")
        if identity_of(self.shard) != self._database:
            raise self._break(f"the decision log file {self.shard} is no longer in its folder")

    def _break(self, reason: str) -> BrokenJournal:
        """Refuse every append from now on (with :attr:`lock` held); the error to raise."""
        if self.broken is None:
            self.broken = reason
            if self._fd >= 0:
                os.close(self._fd)  # a removed file's space is freed with its last descriptor
                self._fd = -1
        return BrokenJournal(self.broken)

    def break_off(self, reason: str) -> None:
        """Refuse every append from now on (the store gives the journal up)."""
        with self.lock:
            self._break(reason)

    def copy(self) -> bool:
        """Switch the writer to a new file if it wrote, then copy every closed file into SQLite and
        delete it (files a failed round left behind are retried). Whether anything was copied.

        :raise BrokenJournal: the journal or its SQLite file left the log's folder, or a new journal
            file could not be started (nothing is deleted then).
        """
        with self._copy_lock:
            old = None
            with self.lock:
                self._verify()
                if self.written:
                    try:
                        opened = self._open(self._number + 1)
                    except OSError as exc:
                        raise self._break(f"cannot start a new journal file ({exc})") from None
                    old = self._fd
                    self._number += 1
                    self._fd, self._path, self._identity, self._size = opened
                    self.written = False
                    self._closed_rows += self._open_rows
                    self._closed_since = _earliest(self._closed_since, self._open_since)
                    self._open_rows, self._open_since = 0, None
            if old is not None:
                os.close(old)
            copied = self._copy_closed(below=self._number)
            with self.lock:  # every closed file is in SQLite now
                self._closed_rows, self._closed_since = 0, None
            return copied

    def backlog(self) -> tuple[int, float]:
        """Rows journalled but not yet copied into SQLite, and the age in seconds of the oldest
        (0 when there are none): the log's queue depth and lag, for the metrics."""
        with self.lock:
            rows = self._open_rows + self._closed_rows
            since = _earliest(self._closed_since, self._open_since)
        return rows, 0.0 if since is None else time.monotonic() - since

    def copy_all(self) -> None:
        """Copy every journal file (at start-up: a crashed writer's; at close: this writer's)."""
        with self._copy_lock:
            self._copy_closed(below=None)

    def _copy_closed(self, below: int | None) -> bool:
        """Copy the files numbered below ``below`` (all: None) and delete them.

        ``copied_through`` is read inside each file's write transaction, so two copiers of one shard
        (a given-up journal's thread finishing its round while the new journal copies what it left)
        never copy a file twice. A file is deleted only while the SQLite file it was copied into is
        still the log's.
        """
        copied = False
        for number, path in journal_files(self.shard):
            if below is not None and number >= below:
                break
            if self.broken is not None:
                raise BrokenJournal(self.broken)
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                if number > copied_through(self._connection):
                    self._insert(path.read_bytes())
                    self._connection.execute(
                        "UPDATE journal_state SET copied_through = ?", (number,)
                    )
                    copied = True
                self._connection.execute("COMMIT")
            finally:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
            if identity_of(self.shard) != self._database:
                with self.lock:
                    raise self._break(f"the decision log file {self.shard} left its folder")
            path.unlink(missing_ok=True)
        return copied

    def _insert(self, data: bytes) -> None:
        """Insert the rows of a journal file's complete lines (in the open transaction)."""
        if _ESCAPED_NUL in data:  # rare: a NUL in some value (or a backslash before "u0000")
            width = len(self._columns)  # a line journaled before a column was added lacks it
            rows = [(*r, *[None] * (width - len(r))) for r in rows_of(data)]
            self._connection.executemany(self._insert_row, rows)
        else:
            lines = complete_lines(data)
            self._connection.execute(self._insert_json, (b"[" + b",".join(lines) + b"]",))

    def close(self) -> None:
        """Copy everything still in the journal and close it (a broken journal's files are left for
        the next writer of the shard: its SQLite file may be gone)."""
        with self.lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._number += 1
        if self.broken is None:
            self.copy_all()
        with self._copy_lock:
            self._connection.close()
