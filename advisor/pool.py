"""Running a function over many items in worker processes, in order, surviving dead workers.

A worker can die in a way no `except` clause sees: a C extension (libcst's native parser) that
overflows its stack, or the out-of-memory killer. `concurrent.futures` then fails every pending
item with BrokenProcessPool. Here the items that finished are kept, the rest run again in a fresh
pool, and a group that makes no progress is halved until the item that kills its worker runs
alone; that item gets `on_death`'s result (a finding, for the linter) and the run goes on.

Ctrl-C reaches every process of the terminal's process group. Workers ignore SIGINT (an idle one
would otherwise print its own KeyboardInterrupt traceback); the parent cancels what is queued,
ends the workers and lets KeyboardInterrupt through to the CLI.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class WorkerDeath:
    """How the worker process running one item ended: a negative exit code is a signal number."""

    exitcode: int | None

    def describe(self) -> str:
        if self.exitcode is None:
            return "ended without a result"
        if self.exitcode < 0:
            try:
                return f"killed by signal {signal.Signals(-self.exitcode).name}"
            except ValueError:
                return f"killed by signal {-self.exitcode}"
        return f"exited with status {self.exitcode} without a result"


def map_in_processes(
    function: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    chunk: int,
    on_death: Callable[[T, WorkerDeath], R],
) -> list[R]:
    """`[function(item) for item in items]`, computed by up to `workers` processes."""
    results: dict[int, R] = {}
    groups: list[list[int]] = [list(range(len(items)))]
    while groups:
        group = groups.pop()
        if len(group) == 1:
            results[group[0]] = _run_alone(function, items[group[0]], on_death)
            continue
        unfinished = _run_pool(function, items, group, workers, chunk, results)
        if not unfinished:
            continue
        if len(unfinished) < len(group):
            groups.append(unfinished)  # progress: the rest again, in fresh workers
        else:  # nothing finished: halve, so that the item that kills a worker ends up alone
            half = len(unfinished) // 2
            groups.extend((unfinished[half:], unfinished[:half]))
    return [results[i] for i in range(len(items))]


def _call_chunk(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [function(item) for item in chunk]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(
    function: Callable[[T], R], items: Sequence[T], group: list[int], workers: int, chunk: int, results: dict[int, R]
) -> list[int]:
    """Run `group` in one pool; store what finished in `results`; return the indices that did not."""
    chunks = [group[start:start + chunk] for start in range(0, len(group), chunk)]
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(chunks))), initializer=_ignore_sigint)
    unfinished: list[int] = []
    try:
        futures: list[tuple[list[int], Future]] = []
        for number, indices in enumerate(chunks):
            try:
                futures.append((indices, pool.submit(_call_chunk, function, [items[i] for i in indices])))
            except BrokenProcessPool:  # a worker died while the rest was being handed out
                unfinished.extend(i for later in chunks[number:] for i in later)
                break
        wait([future for _, future in futures])
        for indices, future in futures:
            try:
                results.update(zip(indices, future.result()))
            except BrokenProcessPool:
                unfinished.extend(indices)
    except BaseException:  # Ctrl-C above all: stop everything now, print nothing from workers
        _terminate(pool)
        raise
    pool.shutdown(wait=True)
    return sorted(unfinished)


def _terminate(pool: ProcessPoolExecutor) -> None:
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    # Earlier versions have no public way; the workers ignore SIGINT, so end them here rather than
    # wait (at interpreter exit) for whatever file each is busy with.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


@dataclass
class _Outcome(Generic[R]):
    value: R | None = None
    error: BaseException | None = None  # raised by `function`: re-raised in the parent, as a pool does


def _child(function: Callable[[T], R], item: T, connection) -> None:
    _ignore_sigint()
    try:
        outcome = _Outcome(value=function(item))
    except Exception as exc:  # noqa: BLE001 - handed to the parent
        outcome = _Outcome(error=exc)
    connection.send(outcome)
    connection.close()


def _run_alone(function: Callable[[T], R], item: T, on_death: Callable[[T, WorkerDeath], R]) -> R:
    """Run one item in a process of its own: its result, or `on_death` with how the process ended."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.Process(target=_child, args=(function, item, sender), daemon=True)
    try:
        process.start()
        sender.close()  # ours; so that recv() sees EOF when the child dies
        try:
            outcome = receiver.recv()
        except EOFError:
            outcome = None
        process.join()
    except BaseException:
        if process.is_alive():
            process.terminate()
        raise
    finally:
        receiver.close()
    if isinstance(outcome, _Outcome):
        if outcome.error is not None:
            raise outcome.error
        return outcome.value  # type: ignore[return-value]
    return on_death(item, WorkerDeath(process.exitcode))
