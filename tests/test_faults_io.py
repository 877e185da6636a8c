"""Files and homes that are not what they seem: FIFOs, unreadable files and folders, odd names, full and read-only homes.

Each case must end in a result or one line naming the file or folder and what
to do (exit 1), never a hang, a traceback or "this is a bug".
"""
import os
import signal
import subprocess
import sys

import pytest

HANG_LIMIT_S = 60


@pytest.fixture
def no_hang():
    """Fail a test that blocks (a FIFO opened for reading waits for a writer forever) instead of hanging the suite."""
    def hung(signum, frame):
        raise TimeoutError(f"blocked for {HANG_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def one_line_error(result, *words):
    """The command failed with exit 1 and a single stderr line holding `words`, no traceback, no "bug"."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- 1. a FIFO named like an image -------------------------------------------------------------------------------

def test_fifo_is_skipped_by_index_tag_and_similar(no_hang, words_home, colour_folder, fake_backbone, run):
    fifo = colour_folder / "red" / "pipe.jpg"
    os.mkfifo(fifo)
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    assert f"{fifo}: not a regular file (a FIFO); skipped." in result.stderr
    for command in ("tag", "similar"):
        failed = run(command, fifo)
        assert failed.exit_code == 1, failed.output
        assert f"{fifo}: not a regular file (a FIFO)" in failed.stderr
        assert "bug" not in failed.stderr and "Traceback" not in failed.stderr


def test_fifo_in_place_of_an_indexed_image(no_hang, words_home, colour_folder, fake_backbone, run, tmp_path):
    assert run("index", colour_folder).exit_code == 0
    fifo = colour_folder / "red" / "000.jpg"
    fifo.unlink()
    os.mkfifo(fifo)
    commands = [("search", "red", "--sheet", tmp_path / "sheet.png"),
                ("walk", "--gif", tmp_path / "walk.gif"),
                ("dedupe",),
                ("map", "--out", tmp_path / "map.png")]
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "bug" not in result.stderr and "Traceback" not in result.stderr
    for name in ("sheet.png", "walk.gif", "map.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_open_image_file_refuses_every_non_regular_file(no_hang, tmp_path):
    from devise.core.errors import BadImageError
    from devise.data.images import open_image_file, open_rgb, pixel_count

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for target, kind in ((fifo, "a FIFO"), (tmp_path, "a folder"), ("/dev/zero", "a character device")):
        for reader in (open_rgb, pixel_count, lambda p: open_image_file(p).__enter__()):
            with pytest.raises(BadImageError, match=f"not a regular file \\({kind}\\)"):
                reader(target)


def test_fifo_thumbnail_is_a_404(no_hang, tmp_path):
    from devise.core.errors import BadImageError
    from devise.web.thumbs import thumbnail_bytes

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(BadImageError):
        thumbnail_bytes(str(fifo))


def test_generate_resume_does_not_block_on_a_fifo(no_hang, tmp_path):
    from devise.data.generate_plan import image_ok, png_entry

    fifo = tmp_path / "0000.png"
    os.mkfifo(fifo)
    assert image_ok(fifo, 32) is False
    assert png_entry(fifo) is None


# --- 2. a damaged .ann file whose mtime was set back -------------------------------------------------------------

def devise_process(home, *args, timeout=120):
    """`devise *args` in its own process: a segfault there fails the test instead of killing pytest."""
    env = {**os.environ, "DEVISE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "devise", *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_damaged_ann_with_restored_mtime_is_refused(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder, "--method", "annoy").exit_code == 0
    assert devise_process(words_home, "search", "red").returncode == 0  # remembered as verified
    version = words_home / "indexes" / "colours" / (words_home / "indexes" / "colours" / "CURRENT").read_text().strip()
    target = version / "words.ann"
    before = target.stat()
    data = bytearray(target.read_bytes())
    for at in range(0, len(data) - 3, 64 * 4):
        data[at:at + 4] = b"\xff\xff\xff\x7f"
    with open(target, "r+b") as f:  # in place: same inode, same size
        f.write(data)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns, target.stat().st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    result = devise_process(words_home, "search", "red")
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "words.ann" in lines[0] and "corrupt" in lines[0], result.stderr
