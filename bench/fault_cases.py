"""The bad inputs bench/faults.py tries: a scratch workspace, and one case per kind of damage or mistake."""
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png")


@dataclass
class Workspace:
    root: Path

    @property
    def home(self):
        return self.root / "home"

    @property
    def photos(self):
        return self.root / "photos"

    @property
    def model(self):
        return self.root / "model"

    def version(self):
        index = self.home / "indexes" / "photos"
        return index / (index / "CURRENT").read_text().strip()

    def replace(self, path, data: bytes):
        """Write `data` to `path` as a new file: the base workspace shares files with every copy (hard links)."""
        path = Path(path)
        path.unlink()
        path.write_bytes(data)
        return path

    def damage(self, path, at=0.5, count=64):
        path = Path(path)
        data = bytearray(path.read_bytes())
        start = int(len(data) * at)
        data[start:start + count] = os.urandom(min(count, len(data) - start))
        return self.replace(path, bytes(data))

    @classmethod
    def build(cls, root):
        """Five sample photos (plus a re-encoded copy) indexed with the real backbone, a model, a labelled folder."""
        import skimage.data

        ws = cls(Path(root))
        ws.photos.mkdir(parents=True)
        for name in SAMPLES:
            shutil.copy(Path(skimage.data.__file__).parent / name, ws.photos / name)
        Image.open(ws.photos / "chelsea.png").convert("RGB").save(ws.photos / "chelsea_copy.jpg", quality=80)
        for cls_name, names in (("cat", SAMPLES[:1]), ("cup", SAMPLES[1:2]), ("rocket", SAMPLES[3:4])):
            (ws.root / "labelled" / cls_name).mkdir(parents=True)
            for name in names:
                shutil.copy(ws.photos / name, ws.root / "labelled" / cls_name / name)
        env = {**os.environ, "DEVISE_HOME": str(ws.home), "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-m", "devise", "index", str(ws.photos), "--name", "photos"], env=env,
                       check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", MAKE_MODEL, str(ws.model)], env=env, check=True, capture_output=True)
        return ws

    @classmethod
    def copy(cls, base, dest):
        """A copy of `base` to damage: files are hard-linked; every change goes through `replace`."""
        shutil.copytree(base.root, dest, symlinks=True, copy_function=os.link)
        return cls(Path(dest))


MAKE_MODEL = r"""
import sys, numpy as np
from devise.models import model_store
rng = np.random.default_rng(0)
w = {"w1": rng.normal(size=(1280, 64)).astype("float32"), "b1": np.zeros(64, "float32"),
     "gamma": np.ones(64, "float32"), "beta": np.zeros(64, "float32"), "mean": np.zeros(64, "float32"),
     "var": np.ones(64, "float32"), "eps": np.float32(1e-3), "w2": rng.normal(size=(64, 50)).astype("float32"),
     "b2": np.zeros(50, "float32"), "seen_labels": np.eye(2, 50, dtype="float32")}
model_store.save(sys.argv[1], None, w, {"seen": ["cat", "cup"]}, backbone="efficientnet-lite0",
                 words="glove-6b-50d", word_dim=50, gamma=0.1, seen_phrases=["cat", "cup"])
"""


def png_header(width, height, bit_depth=8, colour=2):
    """A PNG that claims a size it does not hold: the header of a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def big_16bit_png(path, side=9400):
    arr = np.zeros((side, side), np.uint16)
    arr[::50] = 40000
    Image.fromarray(arr).save(path)
    return path


def web_project(path):
    """A user's folder that is not devise's: a manifest.json of another tool, a src/ tree and a photo."""
    (path / "src").mkdir(parents=True)
    (path / "manifest.json").write_text('{"name": "site", "version": 3}\n')
    (path / "src" / "index.js").write_text("console.log('hi')\n")
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path / "photo.jpg")
    return path


def user_png(path):
    Image.new("RGB", (32, 32), (10, 200, 10)).save(path)
    return path


@dataclass
class Case:
    id: str
    area: str
    what: str
    setup: object        # Workspace -> (argv, protected paths, extra environment)
    exit_code: int = 1
    expect: str = ""     # a word the answer must contain
    forbid: str = ""     # a word the answer must not contain
    http: tuple = ()     # (method, path, body) sent to `devise serve ARGV`: each must get a one-line 4xx


def case(id, area, what, exit_code=1, expect="", forbid="", http=()):
    """Register the decorated setup function as a case."""
    def register(fn):
        CASES.append(Case(id, area, what, fn, exit_code, expect, forbid, tuple(http)))
        return fn
    return register


CASES = []


# images and folders
@case("corrupt-jpeg", "images", "tag a JPEG whose bytes are garbage (the only image)", expect="could be read")
def _(ws):
    (ws.root / "bad.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(2000))
    return ["tag", ws.root / "bad.jpg"], [], {}


@case("text-as-jpg", "images", "tag a text file named .jpg next to a good photo", exit_code=0, expect="not an image")
def _(ws):
    (ws.root / "notes.jpg").write_text("shopping list")
    return ["tag", ws.root / "notes.jpg", ws.photos / "coffee.png", "--top", "3"], [], {}


@case("tiny-image", "images", "tag a 1x1 image", expect="too small")
def _(ws):
    Image.new("RGB", (1, 1)).save(ws.root / "dot.png")
    return ["tag", ws.root / "dot.png"], [], {}


@case("truncated-png", "images", "tag a PNG cut in half", expect="could be read")
def _(ws):
    data = (ws.photos / "astronaut.png").read_bytes()
    (ws.root / "half.png").write_bytes(data[:len(data) // 2])
    return ["tag", ws.root / "half.png"], [], {}


@case("png-bomb", "images", "tag a PNG whose header claims 60000x60000 pixels", expect="could be read")
def _(ws):
    (ws.root / "bomb.png").write_bytes(png_header(60000, 60000))
    return ["tag", ws.root / "bomb.png"], [], {}


@case("huge-16bit-png", "images", "tag a 240 KB 16-bit PNG of 9400x9400 pixels", exit_code=0)
def _(ws):
    return ["tag", big_16bit_png(ws.root / "big16.png"), "--top", "2"], [], {}


@case("symlink-cycle", "folders", "index a folder holding `loop -> ..`", exit_code=0, expect="loop")
def _(ws):
    (ws.photos / "sub").mkdir()
    os.symlink("..", ws.photos / "sub" / "loop")
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {}


@case("broken-symlink", "folders", "index a folder holding a broken symlink", exit_code=0, expect="broken symlink")
def _(ws):
    os.symlink(ws.root / "nowhere.jpg", ws.photos / "gone.jpg")
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {}


@case("flat-folder", "training", "train on a folder with no class subfolders", expect="subfolder")
def _(ws):
    return ["train", ws.photos, "--out", ws.root / "m"], [ws.photos], {}


@case("unknown-words", "training", "train --words on a file that does not exist", expect="nope.txt")
def _(ws):
    return ["train", ws.root / "labelled", "--words", ws.root / "nope.txt", "--out", ws.root / "m"], [], {}


@case("unknown-holdout", "training", "train --holdout-classes naming no class folder", expect="purple")
def _(ws):
    return ["train", ws.root / "labelled", "--holdout-classes", "purple", "--out", ws.root / "m"], [], {}


@case("out-over-user-folder", "outputs", "train --out a web project's folder (manifest.json, src/, photo)",
      expect="devise did not")
def _(ws):
    return ["train", ws.root / "labelled", "--out", web_project(ws.root / "site")], [ws.root / "site"], {}


@case("labels-typo", "labels", "tag --labels labls.txt (a file that does not exist)", exit_code=2, expect="no such file")
def _(ws):
    return ["tag", ws.photos / "coffee.png", "--labels", "labls.txt"], [], {}


@case("labels-not-utf8", "labels", "tag --labels with a Latin-1 file", exit_code=2, expect="UTF-8")
def _(ws):
    (ws.root / "labels.txt").write_bytes("café\ncrème\n".encode("latin-1"))
    return ["tag", ws.photos / "coffee.png", "--labels", ws.root / "labels.txt"], [], {}


@case("labels-long-list", "labels", "tag --labels with a 47-word comma list (over 255 characters)", exit_code=0)
def _(ws):
    words = ",".join(["coffee", "cup", "cat", "rocket", "astronaut", "motorcycle"] * 8)[:400]
    return ["tag", ws.photos / "coffee.png", "--labels", words, "--top", "2"], [], {}


# queries and filters
@case("no-index", "search", "search before any index exists", expect="no default index")
def _(ws):
    shutil.rmtree(ws.home / "indexes")
    return ["search", "cat"], [], {}


@case("unknown-word", "search", "search a misspelt word", expect="did you mean")
def _(ws):
    return ["search", "sofaa"], [], {}


@case("5000-unknown-words", "search", "search 5,000 unknown words", expect="more unknown")
def _(ws):
    return ["search", " ".join(f"zq{i}xv" for i in range(5000))], [], {}


@case("empty-query", "search", "search an empty query", expect="empty query")
def _(ws):
    return ["search", "  "], [], {}


@case("malformed-filter", "search", "search --filter with an unclosed range", expect="filter")
def _(ws):
    return ["search", "cat", "--filter", "label:[0.5 TO"], [], {}


@case("deep-filter", "search", "search --filter nested 2,000 levels deep", expect="nested")
def _(ws):
    return ["search", "cat", "--filter", "(" * 2000 + "label:cat" + ")" * 2000], [], {}


@case("filter-matches-nothing", "search", "search --filter that no image matches", exit_code=0, expect="no results")
def _(ws):
    return ["search", "cat", "--filter", "path:*nothing-like-this*"], [], {}


@case("top-zero", "usage", "search --top 0", exit_code=2, expect="--top")
def _(ws):
    return ["search", "cat", "--top", "0"], [], {}


@case("unknown-command", "usage", "a command that does not exist", exit_code=2, expect="No such command")
def _(ws):
    return ["serach", "cat"], [], {}


# damaged artifacts
@case("manifest-not-object", "index files", "search an index whose manifest.json is `[1,2]`", expect="manifest")
def _(ws):
    ws.replace(ws.version() / "manifest.json", b"[1,2]")
    return ["search", "cat"], [], {}


@case("manifest-garbage-similar", "index files", "similar on an index whose manifest.json is random bytes")
def _(ws):
    ws.replace(ws.version() / "manifest.json", os.urandom(300))
    return ["similar", ws.photos / "coffee.png"], [], {}


@case("ann-corrupt-middle", "index files", "search an Annoy index (--method annoy) with bytes changed mid-file",
      expect="re-index")
def _(ws):
    env = {**os.environ, "DEVISE_HOME": str(ws.home)}
    subprocess.run([sys.executable, "-m", "devise", "index", ws.photos, "--name", "photos", "--rebuild",
                    "--method", "annoy"], env=env, check=True, capture_output=True)
    ws.damage(ws.version() / "words.ann")
    return ["search", "cat"], [], {}


@case("npy-truncated", "index files", "search with vectors_words.npy cut short", expect="re-index")
def _(ws):
    path = ws.version() / "vectors_words.npy"
    ws.replace(path, path.read_bytes()[:200])
    return ["search", "cat"], [], {}


@case("items-corrupt", "index files", "search with items.jsonl damaged", expect="re-index")
def _(ws):
    ws.damage(ws.version() / "items.jsonl", at=0.3, count=40)
    return ["search", "cat"], [], {}


@case("current-pointer", "index files", "search with the CURRENT pointer full of binary garbage")
def _(ws):
    ws.replace(ws.home / "indexes" / "photos" / "CURRENT", b"\xff\xfe\x00garbage")
    return ["search", "cat"], [], {}


@case("feature-cache-corrupt", "caches", "tag with the feature cache overwritten by random bytes", exit_code=0,
      expect="warning")
def _(ws):
    for db in (ws.home / "cache" / "features").glob("*.sqlite"):
        ws.replace(db, os.urandom(8192))
    return ["tag", ws.photos / "coffee.png", "--top", "2"], [], {}


@case("npz-truncated", "model files", "tag --model whose head.npz is cut short", expect="head.npz")
def _(ws):
    path = ws.model / "head.npz"
    ws.replace(path, path.read_bytes()[:300])
    return ["tag", ws.photos / "coffee.png", "--model", ws.model], [], {}


@case("model-manifest-list", "model files", "tag --model whose manifest.json is `[]`", expect="manifest")
def _(ws):
    ws.replace(ws.model / "manifest.json", b"[]")
    return ["tag", ws.photos / "coffee.png", "--model", ws.model], [], {}


@case("home-in-proc", "home", "DEVISE_HOME under /proc", expect="DEVISE_HOME")
def _(ws):
    return ["search", "cat"], [], {"DEVISE_HOME": "/proc/devise-home"}


@case("home-below-file", "home", "DEVISE_HOME below a regular file")
def _(ws):
    (ws.root / "plain.txt").write_text("not a folder")
    return ["search", "cat"], [ws.root / "plain.txt"], {"DEVISE_HOME": str(ws.root / "plain.txt" / "home")}


# outputs a user owns
@case("map-over-user-png", "outputs", "map --out onto a user's PNG", expect="devise did not")
def _(ws):
    return ["map", "--out", user_png(ws.root / "mine.png")], [ws.root / "mine.png"], {}


@case("gif-over-user-file", "outputs", "walk --gif onto a user's file", expect="devise did not")
def _(ws):
    (ws.root / "notes.gif").write_text("my notes")
    return ["walk", "--gif", ws.root / "notes.gif"], [ws.root / "notes.gif"], {}


@case("sheet-through-symlink", "outputs", "search --sheet onto a symlink to a user's photo")
def _(ws):
    os.symlink(user_png(ws.root / "holiday.png"), ws.root / "sheet.png")
    return ["search", "cat", "--sheet", ws.root / "sheet.png"], [ws.root / "holiday.png"], {}


@case("slices-over-user-folder", "outputs", "slices --out a web project's folder", expect="devise did not")
def _(ws):
    return ["slices", "--out", web_project(ws.root / "site")], [ws.root / "site"], {}


@case("move-to-inside", "dedupe", "dedupe --move-to a folder inside the collection", expect="inside")
def _(ws):
    return ["dedupe", "--move-to", ws.photos / "review"], [ws.photos], {}


@case("restore-unknown", "dedupe", "dedupe --restore a path that was never removed")
def _(ws):
    return ["dedupe", "--restore", ws.photos / "coffee.png"], [ws.photos], {}


# Issue 31, items 11-18 and 20: numbers, the server's start, hostile JSON, EXIF, formats, labels, gone files, "".
@case("threshold-nan", "usage", "dedupe --threshold nan", exit_code=2, expect="finite")
def _(ws):
    return ["dedupe", "--threshold", "nan"], [ws.home / "indexes"], {}


@case("min-score-nan", "usage", "label --assign --min-score nan", exit_code=2, expect="finite")
def _(ws):
    return ["label", "--labels", "cat,cup", "--assign", "--min-score", "nan"], [ws.home / "indexes"], {}


@case("upload-cap-nan", "usage", "serve --max-upload-mb nan", exit_code=2, expect="finite")
def _(ws):
    return ["serve", "--max-upload-mb", "nan"], [], {}


@case("seed-negative", "usage", "train --seed -1", exit_code=2, expect="--seed")
def _(ws):
    return ["train", ws.root / "labelled", "--seed", "-1", "--out", ws.root / "m"], [], {}


@case("seed-huge", "usage", "train --seed 99999999999999999999999", exit_code=2, expect="--seed")
def _(ws):
    return ["train", ws.root / "labelled", "--seed", "99999999999999999999999", "--out", ws.root / "m"], [], {}


HELD_SOCKETS = []  # a port kept busy while its case runs


@case("serve-busy-port", "server", "serve --port a port another program listens on", expect="already in use",
      forbid="serving")
def _(ws):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    HELD_SOCKETS.append(sock)
    return ["serve", "--port", sock.getsockname()[1]], [], {}


@case("serve-unknown-host", "server", "serve --host a name that does not resolve", expect="--host", forbid="serving")
def _(ws):
    return ["serve", "--host", "no-such-host.invalid"], [], {}


DEEP_JSON = "[" * 100_000 + "]" * 100_000


@case("json-deep-items", "server", "POST /api/items a JSON body nested 100,000 deep, then another request", exit_code=0,
      http=[("POST", "/api/items", DEEP_JSON)])
def _(ws):
    return ["serve", "--index", "photos"], [ws.home / "indexes"], {}


@case("json-deep-dedupe", "server", "POST /api/dedupe/delete a JSON body nested 100,000 deep, then another request", exit_code=0,
      http=[("POST", "/api/dedupe/delete", '{"threshold": ' + DEEP_JSON + "}")])
def _(ws):
    return ["serve", "--index", "photos", "--allow-edits"], [ws.home / "indexes", ws.photos], {}


@case("json-nul-move-to", "server", "POST /api/dedupe/move with a NUL byte in move_to", exit_code=0,
      http=[("POST", "/api/dedupe/move", '{"move_to": "/tmp/review\\u0000x"}')])
def _(ws):
    return ["serve", "--index", "photos", "--allow-edits"], [ws.home / "indexes", ws.photos], {}


def exif_two_orientations(photo, path):
    """`photo` as a JPEG whose EXIF Orientation tag holds two values (it must hold one)."""
    ifd = struct.pack("<HHHI", 1, 0x0112, 3, 2) + struct.pack("<HH", 6, 6) + struct.pack("<I", 0)
    Image.open(photo).save(path, exif=b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd)
    return path


@case("exif-two-orientations", "images", "tag a JPEG whose EXIF Orientation tag has two entries", exit_code=0,
      forbid="Warning")
def _(ws):
    return ["tag", exif_two_orientations(ws.photos / "rocket.jpg", ws.root / "exif.jpg"), "--top", "2"], [], {}


def heif_and_avif(folder):
    import pillow_heif

    pillow_heif.register_heif_opener()
    photo = Image.open(folder / "coffee.png").convert("RGB")
    photo.save(folder / "phone.heic")
    photo.save(folder / "web.avif")
    return folder


@case("heic-avif-index", "images", "index a folder holding a .heic and an .avif photo", exit_code=0,
      expect="8 images", forbid="not an image")
def _(ws):
    heif_and_avif(ws.photos)
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {}


@case("heic-tag", "images", "tag a .heic photo", exit_code=0, forbid="not an image")
def _(ws):
    return ["tag", heif_and_avif(ws.photos) / "phone.heic", "--top", "2"], [], {}


@case("labels-duplicates", "labels", "tag --labels a file holding cup, cup, CUP", exit_code=0, expect="merged")
def _(ws):
    (ws.root / "labels.txt").write_text("cup\ncup\nCUP\ncat\n")
    return ["tag", ws.photos / "coffee.png", "--labels", ws.root / "labels.txt"], [ws.root / "labels.txt"], {}


@case("sheet-files-gone", "outputs", "search --sheet after two indexed photos were deleted", exit_code=0,
      expect="'missing'")
def _(ws):
    (ws.photos / "coffee.png").unlink()
    (ws.photos / "rocket.jpg").unlink()
    return ["search", "cat", "--top", "6", "--sheet", ws.root / "sheet.png"], [ws.photos], {}


@case("gif-files-gone", "outputs", "walk --gif after an indexed photo was moved away", exit_code=0,
      expect="'missing'")
def _(ws):
    (ws.photos / "astronaut.png").rename(ws.root / "astronaut.png")
    return ["walk", "--gif", ws.root / "walk.gif"], [ws.photos], {}


@case("home-empty", "usage", '--home ""', exit_code=2, expect="--home")
def _(ws):
    return ["--home", "", "search", "cat"], [], {}


@case("name-empty", "usage", 'index --name ""', exit_code=2, expect="--name")
def _(ws):
    return ["index", ws.photos, "--name", ""], [ws.home / "indexes"], {}


@case("sheet-empty", "usage", 'search --sheet ""', exit_code=2, expect="--sheet")
def _(ws):
    return ["search", "cat", "--sheet", ""], [], {}


# Real file systems where root can mount them (else the row says it was skipped): a 3 MB tmpfs, a read-only bind.
MOUNTS = []  # unmounted by bench/faults.py after each case


class Skip(Exception):
    """A case this machine cannot set up (no permission to mount); its row says why."""


def mount(*args):
    target = Path(args[-1])
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"cannot mount here ({(done.stderr or 'mount failed').strip()[:80]})")
    MOUNTS.append(target)
    return target


def unmount_all():
    while MOUNTS:
        subprocess.run(["umount", str(MOUNTS.pop())], capture_output=True)


def read_only_home(ws):
    target = mount("--bind", ws.home, ws.root / "ro-home")
    done = subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"cannot remount read-only ({done.stderr.strip()[:80]})")
    return target


@case("home-tmpfs-3mb", "home", "index with DEVISE_HOME on a real 3 MB tmpfs (fills up)", expect="full")
def _(ws):
    small = mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", ws.root / "small")
    return ["index", ws.photos, "--name", "photos"], [ws.photos], {"DEVISE_HOME": str(small / "home")}


@case("home-ro-mount-search", "home", "search with DEVISE_HOME on a real read-only mount", exit_code=0)
def _(ws):
    return ["search", "cat", "--top", "3"], [ws.home], {"DEVISE_HOME": str(read_only_home(ws))}


@case("home-ro-mount-index", "home", "index a new photo into DEVISE_HOME on a real read-only mount",
      expect="read-only")
def _(ws):
    shutil.copy(ws.photos / "rocket.jpg", ws.photos / "rocket_again.jpg")
    return ["index", ws.photos, "--name", "photos"], [ws.home], {"DEVISE_HOME": str(read_only_home(ws))}
