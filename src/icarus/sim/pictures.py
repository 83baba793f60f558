"""Procedurally generated pictures: gradients, shapes and noise, deterministic from a seed.

They stand in for images wherever Icarus needs pictures (tests, demos, benchmarks): nothing in
them depicts a person. Two different seeds give unrelated pictures (PDQ distance ~128); the same
seed always gives the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """An RGB picture made of a colour gradient, some forty shapes and a little noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.integers(0, 256, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    t = (x * np.cos(angle) + y * np.sin(angle))
    t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    base = (c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None])
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(30, 50))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = x0 + int(rng.integers(w // 16, w // 3))
        y1 = y0 + int(rng.integers(h // 16, h // 3))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    noise = rng.normal(0, 6, size=(h, w, 3))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def variant(img: Image.Image, seed: int) -> Image.Image:
    """A near-duplicate: resized to 50-90 % and 5-10 % brighter or darker (PDQ still matches)."""
    rng = np.random.default_rng(seed)
    scale = float(rng.uniform(0.5, 0.9))
    out = img.resize((max(8, int(img.width * scale)), max(8, int(img.height * scale))),
                     Image.Resampling.LANCZOS)
    factor = 1.0 + float(rng.choice([-1, 1])) * float(rng.uniform(0.05, 0.10))
    return ImageEnhance.Brightness(out).enhance(factor)
