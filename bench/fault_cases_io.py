"""More bad inputs for bench/faults.py: files and homes that are not what they seem (issue 31, items 1-10).

`IO_CASES` holds `fault_cases.Case`s, in the same form as `fault_cases.CASES`
(setup(ws) -> argv, protected paths, extra environment), kept in their own
list so that importing this module changes nothing there. Faults that root
would not see (permission bits) or could not make everywhere (a read-only or
full file system) are injected into the devise process by bench/fault_inject.py.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from fault_cases import Case
from PIL import Image

HERE = Path(__file__).resolve().parent
IO_CASES = []
CONTROL_NAME = "evil\x1b[2J\x1b[31mX\rFAKE\nFAKE"


def io_case(id, area, what, exit_code=1, expect=""):
    """Register the decorated setup function as a case of IO_CASES."""
    def register(fn):
        IO_CASES.append(Case(id, area, what, fn, exit_code, expect))
        return fn
    return register


def injected(ws, fault):
    """The environment that makes `fault` (see fault_inject.py) happen inside the devise process."""
    folder = ws.root / "inject"
    folder.mkdir(exist_ok=True)
    shutil.copy(HERE / "fault_inject.py", folder / "sitecustomize.py")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "DEVISE_FAULT": fault}


def devise(ws, *argv):
    """Run devise in the case's workspace as part of its setup (not the answer being judged)."""
    env = {**os.environ, "DEVISE_HOME": str(ws.home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-m", "devise", *map(str, argv)], env=env, check=True, capture_output=True)


# 1. a FIFO named like an image
@io_case("fifo-in-folder", "special files", "index a folder holding a FIFO named pipe.jpg", exit_code=0,
         expect="not a regular file (a FIFO)")
def _(ws):
    os.mkfifo(ws.photos / "pipe.jpg")
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {}


@io_case("fifo-tag", "special files", "tag a FIFO named pipe.jpg", expect="not a regular file (a FIFO)")
def _(ws):
    os.mkfifo(ws.root / "pipe.jpg")
    return ["tag", ws.root / "pipe.jpg"], [], {}


@io_case("fifo-indexed", "special files", "search --sheet where an indexed photo was replaced by a FIFO",
         exit_code=0)
def _(ws):
    (ws.photos / "coffee.png").unlink()
    os.mkfifo(ws.photos / "coffee.png")
    return ["search", "cup", "--sheet", ws.root / "sheet.png"], [ws.photos], {}


# 2. a damaged Annoy file whose size and mtime were restored
@io_case("ann-mtime-restored", "index files",
         "search an Annoy index damaged in place (every 64th word ff ff ff 7f), its mtime set back", expect="corrupt")
def _(ws):
    devise(ws, "index", ws.photos, "--name", "photos", "--method", "annoy")
    devise(ws, "search", "cat")  # the files are now remembered as verified
    target = ws.version() / "words.ann"  # written by this re-index: not shared with the base workspace
    before = target.stat()
    data = bytearray(target.read_bytes())
    for at in range(0, len(data) - 3, 256):
        data[at:at + 4] = b"\xff\xff\xff\x7f"
    with open(target, "r+b") as f:
        f.write(data)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    return ["search", "cat"], [], {}


# 3. control characters in a file name
@io_case("control-chars-in-name", "names", "index a photo named with ESC, CR and LF", exit_code=0, expect="\\x1b[2J")
def _(ws):
    (ws.photos / "notes").mkdir()
    shutil.copy(ws.photos / "coffee.png", ws.photos / "notes" / f"{CONTROL_NAME}.png")
    (ws.photos / "notes" / f"{CONTROL_NAME}.txt").write_text("not an image")
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {}


# 5. a name that is not UTF-8
@io_case("name-not-utf8", "names", "tag a photo named caf\\xe9.png (Latin-1 bytes)", exit_code=0, expect="caf\\xe9")
def _(ws):
    odd = os.fsdecode(os.path.join(os.fsencode(ws.root), b"caf\xe9.png"))
    shutil.copy(ws.photos / "coffee.png", odd)
    return ["tag", odd, "--top", "3"], [], {}


# 6, 7. an unreadable folder, an unreadable file
@io_case("unreadable-folder", "folders", "index a folder with an unreadable subfolder", exit_code=0,
         expect="cannot be listed (permission denied)")
def _(ws):
    hidden = ws.photos / "private"
    hidden.mkdir()
    shutil.copy(ws.photos / "rocket.jpg", hidden / "rocket2.jpg")
    return ["index", ws.photos, "--name", "photos"], [], injected(ws, f"deny:{hidden}")


@io_case("unreadable-file", "images", "tag an unreadable photo", expect="permission denied")
def _(ws):
    target = ws.root / "locked.png"
    shutil.copy(ws.photos / "coffee.png", target)
    return ["tag", target], [], injected(ws, f"deny:{target}")


# 8. a 32-bit float TIFF
@io_case("float-tiff", "images", "tag a 32-bit float greyscale TIFF", exit_code=0)
def _(ws):
    ramp = np.linspace(-1, 3, 96 * 128, dtype=np.float32).reshape(96, 128)
    Image.fromarray(ramp).save(ws.root / "float.tif")
    return ["tag", ws.root / "float.tif", "--top", "3"], [], {}


# 9. a read-only home
@io_case("home-read-only-search", "home", "search from a read-only home", exit_code=0)
def _(ws):
    return ["search", "cat"], [], injected(ws, f"erofs:{ws.home}")


@io_case("home-read-only-tag", "home", "tag an indexed photo (features cached) from a read-only home", exit_code=0)
def _(ws):
    return ["tag", ws.photos / "coffee.png", "--top", "3"], [], injected(ws, f"erofs:{ws.home}")


@io_case("home-read-only-index", "home", "index into a read-only home", expect="is read-only")
def _(ws):
    shutil.copy(ws.photos / "rocket.jpg", ws.photos / "rocket_again.jpg")
    return ["index", ws.photos, "--name", "photos"], [ws.home / "indexes"], injected(ws, f"erofs:{ws.home}")


# 10. a full home
@io_case("home-full-index", "home", "index a new photo when the home's disk is full", expect="is full")
def _(ws):
    shutil.copy(ws.photos / "rocket.jpg", ws.photos / "rocket_again.jpg")
    return ["index", ws.photos, "--name", "photos"], [ws.home / "indexes"], injected(ws, f"enospc:{ws.home}")


@io_case("home-full-index-write", "home", "index when only the new index version cannot be written (disk full)",
         expect="is full")
def _(ws):
    Image.open(ws.photos / "rocket.jpg").convert("RGB").save(ws.photos / "rocket_small.jpg", quality=60)
    return ["index", ws.photos, "--name", "photos"], [ws.home / "indexes"], injected(ws, f"enospc:{ws.home / 'indexes'}")
