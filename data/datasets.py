"""Where the demo finds images: Caltech-101 locally, a checked download, or package photos.

Order: `$DEVISE_DATASETS`/../shared/datasets, then `DEVISE_HOME/datasets`, then
(online) Caltech-101 from its official CaltechDATA record with an MD5 check,
then (offline) the photos shipped inside installed packages.
"""
import hashlib
import importlib.util
import os
import shutil
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from devise.core.atomic import atomic_path
from devise.core.errors import DataError
from devise.core.home import datasets_root, subdir

CALTECH_URL = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip"
CALTECH_MD5 = "3138e1922a9193bfa496528edbbc45d0"
# Faces_easy is a second crop of the Faces images; BACKGROUND_Google is clutter.
CALTECH_EXCLUDE = ("BACKGROUND_Google", "Faces_easy")
CALTECH_LABEL_MAP = Path(__file__).with_name("label_maps") / "caltech101.txt"


def find_caltech101():
    for root in (datasets_root(), subdir("datasets")):
        candidate = root / "caltech101"
        if (candidate / "airplanes").is_dir():
            return candidate
    return None


def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_caltech101(timeout=20):
    """Download, verify and unpack Caltech-101 into DEVISE_HOME/datasets/caltech101."""
    target = subdir("datasets") / "caltech101"
    archive = subdir("datasets") / "caltech-101.zip"
    if not archive.exists() or _md5(archive) != CALTECH_MD5:
        print(f"downloading {CALTECH_URL} ...", file=sys.stderr)
        try:
            with urllib.request.urlopen(CALTECH_URL, timeout=timeout) as response, atomic_path(archive) as tmp, \
                    open(tmp, "wb") as f:
                shutil.copyfileobj(response, f, 1 << 20)
        except OSError as exc:
            raise DataError(f"cannot download Caltech-101 from {CALTECH_URL} ({exc}); pass a local image folder instead.") from None
        if _md5(archive) != CALTECH_MD5:
            archive.unlink()
            raise DataError(f"{CALTECH_URL}: checksum mismatch (expected MD5 {CALTECH_MD5}); try again later.")
    staging = subdir("datasets") / ".caltech101.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        inner = next(n for n in zf.namelist() if n.endswith("101_ObjectCategories.tar.gz"))
        with zf.open(inner) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            tar.extractall(staging, filter="data")
    shutil.move(str(staging / "101_ObjectCategories"), str(target))
    shutil.rmtree(staging, ignore_errors=True)
    return target


def package_photos():
    """Real photos shipped inside installed packages: scikit-image's samples and foolbox's data/.

    foolbox is located through its import spec, never imported (it pulls in heavy frameworks).
    """
    photos = []
    spec = importlib.util.find_spec("skimage")
    if spec and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        for name in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg"):
            if (data / name).is_file():
                photos.append(data / name)
    spec = importlib.util.find_spec("foolbox")
    if spec and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        photos += sorted(data.glob("imagenet_*.jpg"))
    return [str(p) for p in photos]


def subset_folder(src, per_class, dst, exclude=()):
    """`dst` holding symlinks to the first `per_class` images (by name) of each class folder of `src`.

    A folder of links keeps a smaller run's feature cache apart from nothing and costs no disk;
    links already there are kept, so a re-run reuses the cache (keyed by path). Returns `dst`.
    """
    src, dst = Path(src), Path(dst)
    for cls in sorted(os.listdir(src)):
        if cls in exclude or not (src / cls).is_dir():
            continue
        (dst / cls).mkdir(parents=True, exist_ok=True)
        for name in sorted(n for n in os.listdir(src / cls) if not n.startswith("."))[:per_class]:
            link = dst / cls / name
            if not link.is_symlink():
                link.symlink_to((src / cls / name).resolve())
    return dst
