"""Contact sheets: a grid of thumbnails with captions, saved as PNG.

A sheet never replaces a file devise did not write (core.outputs), and it
carries devise's mark so a later run may replace it.
"""
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devise.core import outputs
from devise.core.errors import BadImageError
from devise.core.progress import warn
from devise.data.images import open_rgb


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def missing_tile(path, size, background=(235, 235, 235)) -> Image.Image:
    """A tile that says in words that the image is not there ("missing") or cannot be decoded ("unreadable")."""
    word = "unreadable" if os.path.lexists(path) else "missing"
    tile = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, size - 1, size - 1), outline=(200, 60, 60), width=max(1, size // 48))
    draw.line((0, 0, size - 1, size - 1), fill=(200, 60, 60), width=max(1, size // 64))
    label = font(max(10, size // 8))
    box = draw.textbbox((0, 0), word, font=label)
    x, y = (size - (box[2] - box[0])) // 2, (size - (box[3] - box[1])) // 2
    draw.rectangle((x - 4, y - 2, x + box[2] - box[0] + 4, y + box[3] - box[1] + 6), fill=background)
    draw.text((x - box[0], y - box[1]), word, fill=(170, 30, 30), font=label)
    return tile


def warn_unshown(unshown, total, out):
    """One stderr line for the images drawn as missing tiles in `out`: how many, and the first one's reason."""
    if unshown:
        warn(f"{len(unshown)} of {total} image(s) in {out} are drawn as 'missing' tiles: moved, deleted or "
             f"unreadable since indexing (first: {unshown[0]}); run `devise index` on the folder to update the index.")


def thumbnail(path, size, unshown=None):
    """`path` fitted into a size x size tile; a missing tile if it cannot be read (its reason appended to `unshown`)."""
    try:
        img = open_rgb(path)
    except BadImageError as exc:
        if unshown is not None:
            unshown.append(str(exc))
        return missing_tile(path, size)
    img.thumbnail((size, size), Image.BICUBIC)
    canvas = Image.new("RGB", (size, size), (245, 245, 245))
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    return canvas


FRAME = 4  # px of the coloured frame that marks a tile right or wrong


def contact_sheet(items, out, title=None, thumb=192, columns=None, caption_lines=3, claim=True, frames=None):
    """items: list of (image_path, [caption lines]). Writes `out` atomically; returns its path.

    frames: an RGB colour (or None) per item, drawn round its thumbnail, e.g. green for a right tag
    and red for a wrong one. claim=False: the caller has already established that `out` is devise's
    to write.
    """
    items = list(items)
    if not items:
        raise ValueError("contact sheet needs at least one image")
    out = outputs.claim_file(out) if claim else Path(out)
    columns = columns or min(6, len(items))
    rows = (len(items) + columns - 1) // columns
    caption_font, title_font = font(13), font(18)
    line_h, pad = 16, 8
    cell_w, cell_h = thumb + pad, thumb + pad + caption_lines * line_h + 4
    top = 34 if title else pad
    sheet = Image.new("RGB", (columns * cell_w + pad, top + rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 8), title, fill="black", font=title_font)
    unshown = []
    for i, (path, lines) in enumerate(items):
        x, y = pad + (i % columns) * cell_w, top + (i // columns) * cell_h
        sheet.paste(thumbnail(path, thumb, unshown), (x, y))
        if frames and frames[i]:
            draw.rectangle([x, y, x + thumb - 1, y + thumb - 1], outline=tuple(frames[i]), width=FRAME)
        for j, line in enumerate(list(lines)[:caption_lines]):
            text = str(line)
            while text and draw.textlength(text, font=caption_font) > thumb:
                text = text[:-2] + "…"
            draw.text((x, y + thumb + 3 + j * line_h), text, fill="black", font=caption_font)
    warn_unshown(unshown, len(items), out)
    return outputs.save_image(sheet, out, format="PNG")
