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
"""

from __future__ import annotations

import os
import sqlite3
import threading
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
        self.fsync = synchronous == "full"
        self.lock = threading.Lock()  # one append or switch at a time
        self._copy_lock = threading.Lock()  # one copy at a time (the thread, or close)
        self._connection = connection
        self._connection.executescript(JOURNAL_SCHEMA)
        self.copy_all()  # what a crashed predecessor left behind
        numbers = [n for n, _ in journal_files(shard)]
        self._number = max([copied_through(self._connection), *numbers]) + 1
        self._fd = self._open(self._number)
        self.written = False  # anything appended since the last copy

    def _open(self, number: int) -> int:
        path = self.shard.with_name(f"{self.shard.name}.journal.{number}")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(fd).st_size  # this process is the file's only writer
        return fd

    def append(self, rows: Sequence[Row]) -> None:
        """Write ``rows`` as one line; on return they survive a crash of this process.

        :raise OSError: the line could not be written (the caller must not answer).
        """
        line = orjson.dumps(rows) + b"\n"
        with self.lock:
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
                if self.fsync:
                    os.fsync(self._fd)
            except OSError:
                # A line cut off here (a full disk) would glue itself to the next one: cut it away.
                os.ftruncate(self._fd, self._size)
                raise
            self._size += len(line)
            self.written = True

    def copy(self) -> bool:
        """Switch the writer to a new file if it wrote, then copy every closed file into SQLite and
        delete it (files a failed round left behind are retried). Whether anything was copied."""
        with self._copy_lock:
            old = None
            with self.lock:
                if self.written:
                    self.written = False
                    old = self._fd
                    self._number += 1
                    self._fd = self._open(self._number)
            if old is not None:
                os.close(old)
            return self._copy_closed(below=self._number)

    def copy_all(self) -> None:
        """Copy every journal file (at start-up: a crashed writer's; at close: this writer's)."""
        with self._copy_lock:
            self._copy_closed(below=None)

    def _copy_closed(self, below: int | None) -> bool:
        done = copied_through(self._connection)
        copied = False
        for number, path in journal_files(self.shard):
            if below is not None and number >= below:
                break
            if number > done:
                data = path.read_bytes()
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    self._insert(data)
                    self._connection.execute(
                        "UPDATE journal_state SET copied_through = ?", (number,)
                    )
                    self._connection.execute("COMMIT")
                finally:
                    if self._connection.in_transaction:
                        self._connection.execute("ROLLBACK")
                done = number
                copied = True
            path.unlink(missing_ok=True)
        return copied

    def _insert(self, data: bytes) -> None:
        """Insert the rows of a journal file's complete lines (in the open transaction)."""
        if _ESCAPED_NUL in data:  # rare: a NUL in some value (or a backslash before "u0000")
            self._connection.executemany(self._insert_row, [tuple(r) for r in rows_of(data)])
        else:
            lines = complete_lines(data)
            self._connection.execute(self._insert_json, (b"[" + b",".join(lines) + b"]",))

    def close(self) -> None:
        """Copy everything still in the journal and close it."""
        with self.lock:
            os.close(self._fd)
            self._fd = -1
            self._number += 1
        self.copy_all()
        self._connection.close()
