"""Screenshots of every view of `devise serve`, from a Caltech-101 index, in a real headless Chromium.

    python bench/web_screenshots.py [--home /tmp/devise-web-shots] [--out docs] [--classes 10] [--per-class 20]

Builds (once; later runs reuse the feature cache) an index of the first
--per-class images of --classes Caltech-101 classes with the real backbone
(efficientnet-lite0, ConSE), plants two re-encoded copies for the dedupe
view, assigns zero-shot labels with `devise.label`, serves the page with
uvicorn, and saves docs/web-{search,similar,indexes,dedupe,walk,map}.png.
Needs the `web` extra, playwright, and Chromium (apt-get install chromium).
"""
import argparse
import os
import shutil
import time
from pathlib import Path

from PIL import Image

import common

CLASSES = ["airplanes", "Motorbikes", "dalmatian", "sunflower", "watch", "butterfly", "grand_piano", "pizza",
           "starfish", "chair", "elephant", "ferry"]
SECOND = ["kangaroo", "pagoda", "lotus", "crab"]  # a second, smaller index, so the picker has a choice
PHRASES = {"airplanes": "airplane", "Motorbikes": "motorbike", "grand_piano": "piano"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def collection(src, dst, classes, per_class, copies=2):
    """Symlinks to the first images of each class, plus `copies` re-encoded copies (the planted duplicates)."""
    for cls in classes:
        (dst / cls).mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(src / cls))[:per_class]:
            link = dst / cls / name
            if not link.exists():
                link.symlink_to((src / cls / name).resolve())
    for cls in classes[:copies]:
        first = sorted(os.listdir(src / cls))[0]
        copy = dst / cls / (Path(first).stem + "_copy.jpg")
        if not copy.exists():
            with Image.open(src / cls / first) as img:
                img.convert("RGB").save(copy, quality=60)
    return dst


def build(folder, classes, second):
    import devise

    devise.build_index(second, name="caltech-small", progress=False)
    summary = devise.build_index(folder, name="caltech", progress=True)
    print(f"index {summary.name}: {summary.items} images ({summary.embedded} embedded now)")
    labels = [PHRASES.get(c, c.replace("_", " ").lower()) for c in classes]
    devise.label(labels, index="caltech", assign=True)
    return summary


def shoot(url, out, upload_image, executable):
    from playwright.sync_api import sync_playwright

    def settle(page, selector, extra_ms=600):
        page.wait_for_selector(selector, timeout=120_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(extra_ms)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{url}/?view=search&q=airplane%20%2B%20sky&top=18")
        settle(page, "#results .card img")
        page.screenshot(path=out / "web-search.png")
        print("wrote", out / "web-search.png")

        page.goto(f"{url}/?view=similar")
        page.set_input_files("#upload", str(upload_image))
        settle(page, "#tags li")
        settle(page, "#similar-results .card img")
        page.screenshot(path=out / "web-similar.png")
        print("wrote", out / "web-similar.png")

        page.goto(f"{url}/?view=indexes")
        settle(page, "#index-table tbody tr")
        page.screenshot(path=out / "web-indexes.png")
        print("wrote", out / "web-indexes.png")

        page.goto(f"{url}/?view=dedupe")
        settle(page, "#groups .group img")
        page.screenshot(path=out / "web-dedupe.png")
        print("wrote", out / "web-dedupe.png")

        page.goto(f"{url}/?view=walk&start=sunflower&limit=40")
        page.wait_for_selector("#walk-player:not([hidden])", timeout=120_000)
        while int(page.input_value("#walk-slider")) < 12:  # mid-walk, as a viewer would see it
            page.wait_for_timeout(50)
        page.click("#walk-play")
        page.wait_for_timeout(800)
        page.screenshot(path=out / "web-walk.png")
        print("wrote", out / "web-walk.png")

        page.goto(f"{url}/?view=map&color=label")
        settle(page, "#map-legend li")
        box = page.locator("#map-canvas").bounding_box()
        for fx in (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
            if page.locator("#map-tip").is_visible():
                break
        page.wait_for_timeout(800)
        page.screenshot(path=out / "web-map.png")
        print("wrote", out / "web-map.png")
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", default="/tmp/devise-web-shots")
    parser.add_argument("--out", default=str(common.ROOT / "docs"))
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--chromium", default=os.environ.get("DEVISE_CHROMIUM") or shutil.which("chromium")
                        or "/usr/bin/chromium")
    args = parser.parse_args()
    os.environ["DEVISE_HOME"] = str(Path(args.home) / "home")
    src = common.DEFAULT_DATA_ROOT / "caltech101"
    classes = CLASSES[:args.classes]
    folder = collection(src, Path(args.home) / "caltech-web", classes, args.per_class)
    second = collection(src, Path(args.home) / "caltech-small", SECOND, 8, copies=0)
    started = time.perf_counter()
    build(folder, classes, second)
    print(f"indexed and labelled in {time.perf_counter() - started:.1f} s")
    upload_image = Path(args.home) / "upload" / "a-dalmatian.jpg"
    upload_image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "dalmatian" / sorted(os.listdir(src / "dalmatian"))[-1], upload_image)

    from devise.web.app import BackgroundServer, create_app

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(create_app("caltech", allow_edits=True)) as server:
        shoot(server.url, out, upload_image, args.chromium)


if __name__ == "__main__":
    main()
