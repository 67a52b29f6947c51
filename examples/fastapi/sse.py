"""A job's events as server-sent events. Each frame is encoded once for every
client following the job: 100 clients of one job cost one `to_json` per
event, not 100 (the per-client formatting was a quarter of the service's CPU
under item 8 of the benchmarks)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from collections.abc import Sequence
from typing import Optional, Protocol

import claude_jobs


class Event(Protocol):
    """What a frame is made of (a `claude_jobs.JobEvent`)."""

    @property
    def seq(self) -> int: ...

    def to_json(self) -> str: ...


class FrameCache:
    """The SSE frames of the latest events, of all jobs: `size` at most, the
    oldest out first. An event is the same for every client (a job's `seq`
    names one event for good), so one frame serves them all."""

    def __init__(self, size: int = 8192) -> None:
        if size < 1:
            raise ValueError(f"size: must be at least 1, got {size}")
        self._size = size
        self._frames: OrderedDict[tuple[str, int], str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._frames)

    def chunk(self, job_id: str, batch: Sequence[Event]) -> str:
        """The frames of a batch of one job's events, as one string."""
        out = []
        for event in batch:
            key = (job_id, event.seq)
            frame = self._frames.get(key)
            if frame is None:
                frame = f"id: {event.seq}\ndata: {event.to_json()}\n\n"
                self._frames[key] = frame
                if len(self._frames) > self._size:
                    self._frames.popitem(last=False)
            out.append(frame)
        return "".join(out)


async def sse(job: claude_jobs.Job, after: int, keepalive: float, cache: FrameCache) -> AsyncIterator[str]:
    """The job's events as SSE frames, with a keep-alive comment after each
    `keepalive` seconds without one (proxies close quiet connections). The
    events already there go out together, as one chunk."""
    batches = job.event_batches(after=after)
    pending: Optional[asyncio.Future[list[claude_jobs.JobEvent]]] = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(batches.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                batch = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield cache.chunk(job.id, batch)
    finally:
        if pending is not None:
            pending.cancel()
