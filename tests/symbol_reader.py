"""Reading route cards' symbols back as a scanner would: the SVG drawn into a bitmap exactly as it says
(python-barcode's bars, segno's QR path, at 8 pixels a millimetre), then decoded by zxing-cpp."""

from __future__ import annotations

import re

import zxingcpp
from PIL import Image, ImageDraw

PX_PER_MM = 8


def code128_bitmap(svg: bytes) -> Image.Image:
    """python-barcode's SVG drawn as it says: black rects in mm on white."""
    text = svg.decode()
    width, height = (float(v) for v in re.search(r'<svg[^>]* width="([\d.]+)mm" height="([\d.]+)mm"', text).groups())
    image = Image.new('L', (round(width * PX_PER_MM), round(height * PX_PER_MM)), 255)
    draw = ImageDraw.Draw(image)
    bars = re.findall(r'<rect x="([\d.]+)mm" y="([\d.]+)mm" width="([\d.]+)mm" height="([\d.]+)mm"', text)
    assert bars, 'no bars in the SVG'
    for x, y, w, h in ((float(v) for v in bar) for bar in bars):
        box = [
            round(x * PX_PER_MM),
            round(y * PX_PER_MM),
            round((x + w) * PX_PER_MM) - 1,
            round((y + h) * PX_PER_MM) - 1,
        ]
        draw.rectangle(box, fill=0)
    return image


def qr_bitmap(svg: bytes) -> Image.Image:
    """segno's SVG drawn as it says: its dark path is runs of 1-module-wide strokes (M/m moves, h runs)."""
    text = svg.decode()
    size = float(re.search(r'viewBox="0 0 ([\d.]+) [\d.]+"', text).group(1))
    path = re.search(r'<path class="qrline" stroke="#000" d="([^"]+)"', text).group(1)
    assert re.fullmatch(r'(?:[Mmh][-\d. ]+)+', path), 'segno drew its path with other commands: teach this reader'
    image = Image.new('L', (round(size * PX_PER_MM),) * 2, 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, args in re.findall(r'([Mmh])([-\d. ]+)', path):
        values = [float(v) for v in args.split()]
        if command == 'M':
            x, y = values
        elif command == 'm':
            x, y = x + values[0], y + values[1]
        else:
            end = x + values[0]
            box = [round(x * PX_PER_MM), round((y - 0.5) * PX_PER_MM), round(end * PX_PER_MM) - 1]
            draw.rectangle([*box, round((y + 0.5) * PX_PER_MM) - 1], fill=0)
            x = end
    return image


def decoded(image: Image.Image, symbology: zxingcpp.BarcodeFormat) -> list[zxingcpp.Result]:
    return list(zxingcpp.read_barcodes(image, formats=symbology))


def code128_reads(svg: bytes) -> str:
    (found,) = decoded(code128_bitmap(svg), zxingcpp.BarcodeFormat.Code128)
    assert found.symbology_identifier == ']C0'  # plain Code 128 (no FNC1, not GS1): a scanner types just the text
    return found.text


def qr_reads(svg: bytes) -> str:
    (found,) = decoded(qr_bitmap(svg), zxingcpp.BarcodeFormat.QRCode)
    assert found.ec_level in ('M', 'Q', 'H')  # a smudge on the shop floor must not make it unreadable
    return found.text
