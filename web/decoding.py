"""Work that decodes images, kept apart from the rest of the server: a few at once, each awaited for a bounded time.

A request that decodes (a thumbnail, an upload, similar/tag/dedupe/map over
the collection's files) runs in its own daemon thread, holding one of
`slots`; it waits for a slot and for its result at most `seconds` in all,
then answers 503 in one line. A decode that runs on past that (a huge
TIFF, a file that blocks) keeps its slot until it ends, so at most `slots`
such threads ever exist, while the event loop and Starlette's thread pool,
which /api/search, /api/indexes and the page use, stay free.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time

from starlette.exceptions import HTTPException

DEFAULT_SLOTS = max(2, min(8, os.cpu_count() or 2))
DEFAULT_SECONDS = 20.0     # one image: far above a 90-megapixel decode
COLLECTION_SECONDS = 600.0  # dedupe and map read every image of an index
POLL = 0.02


class Decoder:
    def __init__(self, slots: int = DEFAULT_SLOTS, seconds: float = DEFAULT_SECONDS,
                 collection_seconds: float = COLLECTION_SECONDS):
        self.slots, self.seconds, self.collection_seconds = slots, seconds, collection_seconds
        self._free = threading.BoundedSemaphore(slots)

    async def run(self, fn, *args, collection: bool = False, **kwargs):
        """fn(*args, **kwargs) in a decode thread; 503 when no slot frees or no result comes within the bound.

        collection: fn reads every image of an index (dedupe, map), so it gets the longer bound.
        """
        seconds = self.collection_seconds if collection else self.seconds
        deadline = time.monotonic() + seconds
        while not self._free.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise HTTPException(503, f"the server is busy decoding {self.slots} images at once; try again in "
                                         f"a moment.")
            await asyncio.sleep(POLL)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        threading.Thread(target=self._work, args=(loop, done, fn, args, kwargs), name="devise-decode",
                         daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(done), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise HTTPException(503, f"decoding took longer than {seconds:g} s, so the server stopped waiting for "
                                     f"it (an image too large or a file that does not answer?).") from None

    def _work(self, loop, done, fn, args, kwargs):
        try:
            outcome = (_settle, done, fn(*args, **kwargs), None)
        except BaseException as exc:  # handed to the request, which answers it as any error
            outcome = (_settle, done, None, exc)
        finally:
            self._free.release()
        with contextlib.suppress(RuntimeError):  # the request's loop has closed: nobody waits for this result
            loop.call_soon_threadsafe(*outcome)


def _settle(future, result, exc):
    if not future.done():
        future.set_exception(exc) if exc is not None else future.set_result(result)


def decoder(request) -> Decoder:
    return request.app.state.decoder
