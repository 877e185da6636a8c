"""Uploaded images: size-capped, decoded through the same guards as `devise index`, kept in a temp folder.

The body is read with a running count, so an oversized upload is refused
(413) after at most the cap plus a little, whatever Content-Length says.
The image goes to a fresh temp folder (never a folder the user indexed),
is decoded once by `data.images.open_rgb` (bombs, truncated files and
non-images become a 400 before any backbone is loaded), and is deleted
when the request is done. Messages and results name the file as the
browser named it, not by its temp path.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from devise.core.errors import DeviseError
from devise.data.formats import IMAGE_SUFFIXES
from devise.data.images import open_rgb
from devise.web.decoding import Decoder, decoder

FIELD = "image"
FORM_SLACK = 64 << 10  # multipart headers and the small fields that travel with the image
MAX_FIELDS = 16


@dataclass
class Upload:
    path: str      # the temp file
    name: str      # the browser's name for it
    fields: dict   # the form's other fields
    decoder: Decoder

    def speak(self, exc: DeviseError) -> DeviseError:
        """The same error, naming the upload as the user knows it."""
        return type(exc)(str(exc).replace(self.path, self.name))

    async def run(self, fn, *args, **kwargs):
        """`fn` in a decode thread (web/decoding.py), its DeviseErrors renamed by `speak`."""
        try:
            return await self.decoder.run(fn, *args, **kwargs)
        except DeviseError as exc:
            raise self.speak(exc) from None


def _too_big(limit):
    return HTTPException(413, f"the upload is larger than {limit / (1 << 20):g} MB, this server's limit "
                              f"(devise serve --max-upload-mb).")


async def _body(request, limit) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_SLACK:
        raise _too_big(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + FORM_SLACK:
            raise _too_big(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _shown_name(filename) -> str:
    name = os.path.basename(str(filename or "")).strip()
    name = "".join(c for c in name if c.isprintable())[:120]
    return name or "upload"


def _check_decodes(path):
    with contextlib.closing(open_rgb(path)):
        pass


@contextlib.asynccontextmanager
async def received(request, limit: int):
    """Yield the Upload of a multipart POST with the image in field `image`; the temp folder goes afterwards."""
    body = await _body(request, limit)
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(400, f"send the image as multipart/form-data, in the field {FIELD!r}.")
    async with Request(request.scope, replay).form(max_files=1, max_fields=MAX_FIELDS) as form:
        upload = form.get(FIELD)
        if not hasattr(upload, "read"):
            raise HTTPException(400, f"no image in the form: send the file in the field {FIELD!r}.")
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        name = _shown_name(upload.filename)
    if len(data) > limit:
        raise _too_big(limit)
    if not data:
        raise HTTPException(400, f"{name}: the uploaded file is empty.")
    suffix = os.path.splitext(name)[1].lower()
    folder = tempfile.mkdtemp(prefix="devise-upload-")
    try:
        path = os.path.join(folder, "upload" + (suffix if suffix in IMAGE_SUFFIXES else ""))
        with open(path, "wb") as f:
            f.write(data)
        up = Upload(path, name, fields, decoder(request))
        await up.run(_check_decodes, path)
        yield up
    finally:
        shutil.rmtree(folder, ignore_errors=True)
