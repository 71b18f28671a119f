"""Work a `mkdocs build` does beside MkDocs, on another core.

MkDocs renders pages on one core. Making the generated pages, the command checks, reading the written pages for the
site link check, and assembling print.html need nothing MkDocs is still to do, so a build runs them in a forked copy
of itself while MkDocs goes on (a machine with two cores has one idle). The child starts with everything the parent
had loaded and sends its result back through a pipe; before it, a child may ``post`` parts of its work as they are
done (the pages of a build, which MkDocs reads one by one), which the parent ``receive``s in order. It is only a way
of doing the same work sooner: whenever a child cannot be started, fails or dies, the caller does the work itself
(or what is left of it), in process, exactly as it would have without one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Inbox = queue.SimpleQueue  # the messages the parent sent, in order; None once the parent closed its end
# The name of runbinder's own parser threads (checks.commands). One is idle whenever the main thread runs, and a
# forked child starts its own, so a fork from a process that has one is safe.
PARSER_THREAD = "runbinder-parser"


def can_fork() -> bool:
    """Whether a child may be forked from here. A forked child starts with only the thread that forked, so a lock
    another thread held stays locked in it for ever: only when every other thread is one of runbinder's own idle
    parser threads (which the child replaces: checks.commands), on Linux (where fork is dependable and the
    default), and when this process may run on a second core."""
    import multiprocessing  # here: `runbinder validate` of a few files starts no child and need not load it

    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.current_thread() is threading.main_thread()
        and all(t.name.startswith(PARSER_THREAD) for t in others)
        and len(os.sched_getaffinity(0)) > 1
    )


class Child(Generic[T]):
    """``work(inbox)`` running in a forked copy of this process. ``send`` puts a message in its inbox; ``result``
    waits for what ``work`` returned, or None when it raised or the child died (the caller then does the work).

    ``work`` may ``post`` messages before it returns; ``receive`` gives them in order, and None once the child
    returned, failed or died without posting more. A reader thread takes them off the pipe as they come, so the
    child never waits on a parent busy elsewhere."""

    def __init__(self, work: Callable[[Inbox[Any]], T], name: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        inbox_end, self._outbox = context.Pipe(duplex=False)
        self._results, result_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run, args=(work, inbox_end, result_end, (self._outbox, self._results)), name=name, daemon=True
        )
        self._process.start()
        inbox_end.close()
        result_end.close()
        self.failure: str | None = None  # what went wrong in the child, for a debug log
        self.pid = self._process.pid
        self._received: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._ending: tuple[str, Any] | None = None  # the child's last message, once receive() met it
        self._unreadable = ""  # why the reader stopped before the child's last message, if it could not read one
        self._ended = False
        self._reader = threading.Thread(target=self._read, name=READER_THREAD, daemon=True)
        try:
            self._reader.start()
        except RuntimeError as exc:  # no thread to be had: no child either (the caller does the work)
            self._process.kill()
            self._process.join()
            self._outbox.close()
            self._results.close()
            raise OSError(f"no thread to read the child's messages: {exc}") from exc

    def send(self, message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):  # the child is gone: result() says so
            self._outbox.send(message)

    def receive(self) -> Any | None:
        """The next message the child posted, waiting for it; None once it returned, failed or died."""
        if self._ended:
            return None
        message = self._received.get()
        if message is not None and message[0] == _PART:
            return message[1]
        self._ending, self._ended = message, True
        return None

    def result(self) -> T | None:
        while self.receive() is not None:
            pass  # posted messages nobody asked for
        ending = self._ending
        if ending is None and self._process.is_alive():  # what it sent could not be read: it is of no use now
            self._process.kill()
        self._close()
        if ending is None:  # the child ended without sending, or what it sent could not be read
            unread = f"; {self._unreadable}" if self._unreadable else ""
            self.failure = f"the child ended with exit code {self._process.exitcode} and sent nothing{unread}"
            return None
        status, value = ending
        if status != "ok":
            self.failure = value
            return None
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._close()

    def _read(self) -> None:
        try:
            while True:
                message = self._results.recv()  # EOFError once the child ended without sending
                self._received.put(message)
                if message[0] != _PART:
                    return
        except (EOFError, OSError):
            self._received.put(None)
        except BaseException as exc:  # a message that cannot be unpickled: the end, and never a stuck receive()
            self._unreadable = f"a message could not be read: {exc!r}"
            self._received.put(None)

    def _close(self) -> None:
        self._outbox.close()
        self._process.join(timeout=5)
        # The reader ends with the child's last message or, the child being gone, at the end of the pipe: only
        # then is the pipe closed, so that the thread never reads a descriptor the process has reused.
        self._reader.join(timeout=5)
        if not self._reader.is_alive():
            self._results.close()


_PART = "part"
READER_THREAD = "runbinder-results"
_POSTING: Any = None  # in a child: the end of the pipe its messages go to


def post(message: Any) -> None:
    """In a child's ``work``: send ``message`` to the parent now (``Child.receive``), before the result."""
    if _POSTING is None:
        raise RuntimeError("post() is for the work of a sidework child")
    _POSTING.send((_PART, message))


def _run(work: Callable[[Inbox[Any]], Any], inbox_end: Any, result_end: Any, parents: tuple[Any, ...]) -> None:
    global _POSTING
    _POSTING = result_end
    for end in parents:  # the parent's ends, copied by fork: closed, so that the parent closing them is seen here
        end.close()
    with contextlib.suppress(OSError):
        os.nice(5)  # MkDocs, in the parent, goes first; the child (and the tools it runs) take the time left over
    inbox: Inbox[Any] = queue.SimpleQueue()

    def read() -> None:  # drains the pipe at once, so that the parent never waits on a full one
        try:
            while (message := inbox_end.recv()) is not None:
                inbox.put(message)
        except (EOFError, OSError):
            pass
        inbox.put(None)

    threading.Thread(target=read, name="runbinder-inbox", daemon=True).start()
    try:
        outcome: tuple[str, Any] = ("ok", work(inbox))
    except BaseException:  # an interrupt as well: the parent decides what happens next
        outcome = ("failed", traceback.format_exc())
    try:
        result_end.send(outcome)
    except (OSError, ValueError):
        pass  # the parent is gone
    except Exception:  # a result pickle cannot carry
        result_end.send(("failed", traceback.format_exc()))
