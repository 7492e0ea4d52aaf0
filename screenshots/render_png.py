#!/usr/bin/env python3
"""Renders tmux captures with colours (`capture-pane -p -e`, the .ansi files here) to PNG.

    python3 screenshots/render_png.py screenshots/demo-tree.ansi [more.ansi ...]

Needs Pillow (installed with pip when missing) and DejaVu Sans Mono (Debian: fonts-dejavu-core).
"""

import os
import re
import subprocess
import sys

try:
    from PIL import Image, ImageDraw, ImageFont
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pillow"], check=True)
    from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 14
BG = (24, 26, 32)
FG = (210, 214, 220)
# The 16 terminal colours (a dark theme).
PALETTE = [
    (40, 42, 54), (230, 90, 90), (120, 200, 120), (230, 200, 100),
    (100, 150, 240), (200, 120, 220), (90, 200, 210), (200, 204, 210),
    (110, 115, 130), (255, 120, 120), (150, 230, 150), (255, 225, 130),
    (140, 180, 255), (230, 150, 250), (130, 230, 240), (250, 250, 250),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def parse_line(line):
    """Yields (text, fg, bg, bold, reverse) runs."""
    state = {"fg": None, "bg": None, "bold": False, "rev": False}
    pos = 0
    for m in SGR.finditer(line):
        if m.start() > pos:
            yield line[pos:m.start()], dict(state)
        codes = [int(c) if c else 0 for c in m.group(1).split(";")]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                state = {"fg": None, "bg": None, "bold": False, "rev": False}
            elif c == 1:
                state["bold"] = True
            elif c == 22:
                state["bold"] = False
            elif c == 7:
                state["rev"] = True
            elif c == 27:
                state["rev"] = False
            elif 30 <= c <= 37:
                state["fg"] = PALETTE[c - 30]
            elif 90 <= c <= 97:
                state["fg"] = PALETTE[c - 90 + 8]
            elif c == 39:
                state["fg"] = None
            elif 40 <= c <= 47:
                state["bg"] = PALETTE[c - 40]
            elif 100 <= c <= 107:
                state["bg"] = PALETTE[c - 100 + 8]
            elif c == 49:
                state["bg"] = None
            elif c in (38, 48) and i + 1 < len(codes):
                key = "fg" if c == 38 else "bg"
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    state[key] = xterm256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    state[key] = tuple(codes[i + 2:i + 5])
                    i += 4
            i += 1
        pos = m.end()
    if pos < len(line):
        yield line[pos:], dict(state)


# Braille dots by bit: (column, row) in the 2x4 cell (DejaVu Sans Mono has no braille).
DOTS = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]


def braille(draw, x, y, cw, ch, bits, fg):
    r = max(1, cw // 6)
    for bit, (col, row) in enumerate(DOTS):
        if bits & (1 << bit):
            cx = x + cw * (1 + 2 * col) // 4
            cy = y + ch * (1 + 2 * row) // 8
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)


def render(path):
    lines = open(path, encoding="utf-8", errors="replace").read().rstrip("\n").split("\n")
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(BOLD, SIZE) if os.path.exists(BOLD) else font
    cw = round(font.getlength("M"))
    ch = SIZE + 4
    width = max(len(SGR.sub("", l)) for l in lines)
    img = Image.new("RGB", (cw * width + 16, ch * len(lines) + 16), BG)
    draw = ImageDraw.Draw(img)
    for row, line in enumerate(lines):
        x = 8
        y = 8 + row * ch
        for text, st in parse_line(line):
            fg = st["fg"] or FG
            bg = st["bg"]
            if st["rev"]:
                fg, bg = (bg or BG), fg
            for c in text:
                if bg:
                    draw.rectangle([x, y, x + cw, y + ch], fill=bg)
                if 0x2800 <= ord(c) <= 0x28FF:
                    braille(draw, x, y, cw, ch, ord(c) - 0x2800, fg)
                else:
                    draw.text((x, y + 1), c, font=bold if st["bold"] else font, fill=fg)
                x += cw
    out = os.path.splitext(path)[0] + ".png"
    img.save(out)
    print(out)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        render(p)
