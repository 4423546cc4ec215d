"""One scripted process's Python function in its own thread, with a strict hand-off.

The simulator thread and a script thread never run at the same time: the simulator calls
`resume(result)` and blocks until the script has computed its next request (`ask`), and the
script blocks in `ask` until the simulator has the answer. So a script is written as straight-line
code (`fd = libc.open(...)`), and a run is as deterministic as one thread would be.
"""

from __future__ import annotations

import threading
import traceback

__all__ = ["Cancelled", "ScriptThread"]


class Cancelled(BaseException):  # noqa: N818  (like GeneratorExit: not an error, not an Exception)
    """Raised inside a script whose process is gone or whose run has ended, so that its thread
    unwinds (a BaseException, so a script's `except Exception` does not swallow it)."""


class ScriptThread:
    """`fn(libc, *args)` run as a process's script, `libc` made for it by `make_libc(self)` (it
    asks through this thread). Its requests are tuples (what the caller makes of them); the
    last one is ("exit", status) or ("error", text) when `fn` returned or raised."""

    def __init__(self, fn, make_libc, args: tuple, name: str):
        self.fn, self.args = fn, args
        self.libc = make_libc(self)
        self._cond = threading.Condition()
        self._script_turn = False
        self._cancelled = False
        self._request = None
        self._result = None
        self.finished = False
        self.thread = threading.Thread(target=self._body, name=name, daemon=True)

    # ---- the simulator's side
    def resume(self, result):
        """Give the script `result` (its last request's) and wait for its next request."""
        with self._cond:
            if self.finished:  # it already said how it ends: say it again
                return self._request
            self._result, self._script_turn = result, True
            if not self.thread.is_alive():
                self.thread.start()
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._script_turn)
            return self._request

    def cancel(self, timeout: float = 5.0) -> None:
        """End a script still waiting for an answer (its run is over): Cancelled in its thread."""
        with self._cond:
            if self.finished or not self.thread.is_alive():
                return
            self._cancelled, self._script_turn = True, True
            self._cond.notify_all()
        self.thread.join(timeout)

    # ---- the script's side
    def ask(self, request):
        """Hand `request` to the simulator and wait for its result (in the script's thread)."""
        if threading.current_thread() is not self.thread:
            raise RuntimeError(
                f"{self.thread.name}: a libc object is used only by the script it was given to"
            )
        with self._cond:
            self._request, self._script_turn = request, False
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._script_turn)
            if self._cancelled:
                raise Cancelled
            return self._result

    def _body(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._script_turn)
        try:
            if self._cancelled:
                return
            status = self.fn(self.libc, *self.args)
            last = ("exit", _status(status))
        except Cancelled:
            return
        except BaseException as e:  # noqa: BLE001  (everything a script raises is reported)
            last = ("error", "".join(traceback.format_exception(e)))
        with self._cond:
            self._request, self.finished, self._script_turn = last, True, False
            self._cond.notify_all()


def _status(value) -> int:
    """A script's return value as its process's exit status: None is 0, an int its low 8 bits."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a script returns None or an int exit status, not {value!r}")
    return value & 0xFF
