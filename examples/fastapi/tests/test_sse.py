"""The SSE frames: encoded once for every client of a job, bounded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from sse import FrameCache
from test_api import sse_frames, wait_final


@dataclass
class Ev:
    seq: int
    calls: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        self.calls.append(self.seq)
        return f'{{"seq":{self.seq}}}'


def test_a_frame_is_encoded_once_for_every_client() -> None:
    cache = FrameCache(size=4)
    events = [Ev(1), Ev(2)]
    first = cache.chunk("job-a", events)
    assert first == 'id: 1\ndata: {"seq":1}\n\nid: 2\ndata: {"seq":2}\n\n'
    assert cache.chunk("job-a", events) == first
    assert [e.calls for e in events] == [[1], [2]], "each event encoded once"
    # Another job's event of the same seq is its own frame.
    other = Ev(1)
    cache.chunk("job-b", [other])
    assert other.calls == [1]


def test_the_cache_keeps_the_latest_frames_only() -> None:
    cache = FrameCache(size=3)
    events = [Ev(n) for n in range(1, 6)]
    cache.chunk("j", events)
    assert len(cache) == 3
    cache.chunk("j", events[2:])
    assert [e.calls for e in events[2:]] == [[3], [4], [5]], "the latest three kept"
    cache.chunk("j", events[:1])
    assert events[0].calls == [1, 1], "the oldest went out"
    with pytest.raises(ValueError, match="size"):
        FrameCache(size=0)


@pytest.mark.asyncio
async def test_clients_following_one_job_get_the_same_frames(client: httpx.AsyncClient) -> None:
    job_id = (await client.post("/api/jobs", json={"prompt": "hi"})).json()["id"]
    # Followed while it runs, by three clients at once.
    bodies = await asyncio.gather(*(client.get(f"/api/jobs/{job_id}/events") for _ in range(3)))
    await wait_final(client, job_id)
    frames = [sse_frames(b.text) for b in bodies]
    assert frames[0] == frames[1] == frames[2]
    assert [f["id"] for f in frames[0]] == list(range(1, len(frames[0]) + 1))
    assert frames[0][-1]["data"]["type"] == "finished"
