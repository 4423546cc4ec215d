"""A run's memory trace, recorded once and read back (for `hmk explore`, docs/exploration.md).

The file is a zip archive (deflate), readable as a numpy .npz: `events/000000.npy`,
`events/000001.npy`, ... hold the events in order, each chunk an array of
`hmk.hw.events.EVENT_DTYPE` records exactly as the memory hierarchy received them, and
`header.json` says what ran and how many events there are. The writer keeps one chunk in memory
at a time, so a long run's trace never is; the reader gives the chunks one by one or the whole
trace as one array.

    with TraceWriter("run.trace", {"program": "ls"}) as w:    # (hmk run --trace does this)
        w.add(events)
    trace = TraceFile("run.trace")
    trace.header["events"], trace.events()                      # or: for chunk in trace.chunks()
"""

from __future__ import annotations

import contextlib
import json
import zipfile

import numpy as np

from hmk.hw.events import EVENT_DTYPE, KIND_NAMES
from hmk.outputs import OutputError, shown, written

FORMAT, VERSION = "hmk-trace", 1
HEADER = "header.json"
CHUNK_EVENTS = 1 << 20  # 16 MiB of records a chunk
COMPRESSLEVEL = 1  # deflate's fastest: a run records tens of millions of events a minute


class _Dropped(Exception):
    """Thrown into hmk.outputs.written to make it drop the temporary file."""


class TraceFileError(ValueError):
    """A file that is not a readable hmk trace; str() is one line naming the file."""


class TraceWriter:
    """Write events to `path` (a file, replaced only when the trace is complete: hmk.outputs's
    rule), a chunk of `chunk_events` (default CHUNK_EVENTS) at a time. `header`: what the
    trace is of (JSON values); `close(**more)` adds to it and writes it with the counts."""

    def __init__(self, path, header: dict | None = None, chunk_events: int | None = None):
        chunk_events = CHUNK_EVENTS if chunk_events is None else chunk_events
        if chunk_events <= 0:
            raise ValueError(f"chunk_events must be positive, not {chunk_events}")
        self.header = dict(header or {})
        self.path, self.closed = path, False
        self._file = written(path, "--trace")  # a temporary file, renamed when complete
        name = self._file.__enter__()
        try:
            self._zip = zipfile.ZipFile(
                name, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
            )
        except OSError as e:
            self.abort()
            raise self._error(e) from None
        self._buffer = np.empty(chunk_events, EVENT_DTYPE)
        self._used = self._chunks = self._events = 0
        self._kinds = np.zeros(256, np.int64)

    def add(self, events: np.ndarray) -> None:
        """Append a batch (copied: the caller may reuse its array)."""
        done = 0
        while done < len(events):
            take = min(len(events) - done, len(self._buffer) - self._used)
            self._buffer[self._used : self._used + take] = events[done : done + take]
            self._used += take
            done += take
            if self._used == len(self._buffer):
                self._flush()

    def _error(self, e: OSError) -> OutputError:
        return OutputError(f"--trace {shown(self.path)}: cannot write: {e.strerror or e}")

    def _flush(self) -> None:
        if not self._used:
            return
        chunk = self._buffer[: self._used]
        try:
            with self._zip.open(f"events/{self._chunks:06d}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, chunk, allow_pickle=False)
        except OSError as e:
            raise self._error(e) from None
        self._kinds += np.bincount(chunk["kind"], minlength=256)
        self._events += self._used
        self._chunks += 1
        self._used = 0

    def close(self, **more) -> dict:
        """Write the last chunk and the header; the file is in place when this returns."""
        self._flush()
        kinds = {KIND_NAMES.get(k, str(k)): int(n) for k, n in enumerate(self._kinds) if n}
        self.header.update(more)
        self.header.update(
            format=FORMAT, version=VERSION, events=self._events, chunks=self._chunks, kinds=kinds
        )
        try:
            self._zip.writestr(HEADER, json.dumps(self.header, indent=1))
            self._zip.close()
        except OSError as e:
            raise self._error(e) from None
        self.closed = True
        self._file.__exit__(None, None, None)  # in place
        return self.header

    def abort(self) -> None:
        """Drop the trace: nothing is left at the path (an existing file there stays)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, AttributeError):
            self._zip.close()
        dropped = _Dropped()
        self._file.__exit__(_Dropped, dropped, None)  # removes the temporary file

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self.abort()


class TraceFile:
    """A trace written by TraceWriter. `header`: its header (format, version, events, chunks,
    kinds and what the writer added: for a run, profile, system, program, argv, ...)."""

    def __init__(self, path):
        self.path = path
        where = f"{path}"
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                if HEADER not in names:
                    raise TraceFileError(f"{where}: not an hmk trace (no {HEADER})")
                header = json.loads(z.read(HEADER))
        except zipfile.BadZipFile:
            raise TraceFileError(f"{where}: not an hmk trace (not a zip archive)") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise TraceFileError(f"{where}: not an hmk trace (a bad {HEADER})") from None
        except OSError as e:
            raise TraceFileError(f"{where}: cannot read: {e.strerror or e}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise TraceFileError(f"{where}: not an hmk trace (its header names no {FORMAT})")
        if header.get("version") != VERSION:
            raise TraceFileError(
                f"{where}: trace format version {header.get('version')!r}; this hmk reads "
                f"version {VERSION}"
            )
        count = header.get("chunks")
        if not isinstance(count, int) or count < 0 or not isinstance(header.get("events"), int):
            raise TraceFileError(f"{where}: a bad {HEADER} (chunks, events)")
        missing = [n for n in _chunk_names(count) if n not in names]
        if missing:
            raise TraceFileError(f"{where}: truncated trace ({missing[0]} is missing)")
        self.header = header

    def __len__(self) -> int:
        return self.header["events"]

    def chunks(self):
        """The events, a chunk (an EVENT_DTYPE array) at a time, in order."""
        total = 0
        with zipfile.ZipFile(self.path) as z:
            for name in _chunk_names(self.header["chunks"]):
                try:
                    with z.open(name) as f:
                        chunk = np.lib.format.read_array(f, allow_pickle=False)
                except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
                    raise TraceFileError(f"{self.path}: {name}: unreadable: {e}") from None
                if chunk.dtype != EVENT_DTYPE or chunk.ndim != 1:
                    raise TraceFileError(f"{self.path}: {name}: not an array of events")
                total += len(chunk)
                yield chunk
        if total != self.header["events"]:
            raise TraceFileError(
                f"{self.path}: {total} events in its chunks, {self.header['events']} in its header"
            )

    def events(self) -> np.ndarray:
        """The whole trace as one EVENT_DTYPE array."""
        out = np.empty(self.header["events"], EVENT_DTYPE)
        at = 0
        for chunk in self.chunks():
            if at + len(chunk) > len(out):
                raise TraceFileError(f"{self.path}: more events in its chunks than its header says")
            out[at : at + len(chunk)] = chunk
            at += len(chunk)
        return out


def _chunk_names(count: int) -> list[str]:
    return [f"events/{i:06d}.npy" for i in range(count)]
