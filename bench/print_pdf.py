"""The Excel export as it prints: a demo workbook converted to PDF by LibreOffice, its pages counted.

Issue 18: "printed, the export is hundreds of portrait pages in strips of three columns, the chart cut
across pages, no repeated header row, no page numbers". This bench fills a scratch database with demo
movements, writes the workbook exactly as the export does (`reports.excel.workbook.export_workbook`),
converts it with `libreoffice --headless --convert-to pdf` and prints:
  - the number of PDF pages in total, and per sheet (read from each page's header, which names the sheet;
    a workbook without headers gives the total only);
  - whether every page is landscape (from `pdfinfo`, poppler-utils);
  - with --png, the first pages of each sheet rendered to PNG (`pdftoppm -r 50`) to look at.

LibreOffice is not needed by CI; without it (or without pdfinfo) the bench says what it skipped and why.

    python -m bench.print_pdf [--movements 3000] [--seed 18] [--sqlite] [--out DIR] [--png 2]
        [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

# Settings are read once: a private data folder (the SQLite file, the session secret) before potrack loads.
if __name__ == '__main__':
    os.environ['POTRACK_DATA_DIR'] = tempfile.mkdtemp(prefix='potrack-bench-print-')
    os.environ.setdefault('POTRACK_TIMEZONE', 'Asia/Kolkata')

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import base_parser, run_on_database
from potrack.db import Database, use_database
from potrack.ops.demo.loader import run_demo
from potrack.reports.excel.workbook import ExportRequest, actor_by_username, export_workbook

DATA = Path(os.environ.get('POTRACK_DATA_DIR', tempfile.gettempdir()))
SHEETS = ('Summary', 'Balances', 'Movements')
CONVERT_TIMEOUT_S = 600
PAGE_SIZE = re.compile(r'^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts', re.MULTILINE)
PAGE_ROT = re.compile(r'^Page\s+(\d+) rot:\s+(\d+)', re.MULTILINE)


def write_workbook(db: Database, movements: int, seed: int, out: Path) -> Path:
    use_database(db)
    print(f'loading {movements:,} demo movements …', flush=True)
    run_demo(db, movements=movements, fast=True, out=lambda line: None, seed=seed)
    path = out / 'potrack-print.xlsx'
    result = export_workbook(actor_by_username('admin'), ExportRequest(open_only=False), path, db=db)
    print(f'wrote {path} ({result.movements:,} movements, {result.balances:,} balance rows)')
    return path


def libreoffice() -> str | None:
    return shutil.which('libreoffice') or shutil.which('soffice')


def font_note() -> str:
    """Which font LibreOffice lays Calibri out with: the page counts depend on it."""
    if not shutil.which('fc-match'):
        return 'font: unknown (no fc-match)'
    family = subprocess.run(['fc-match', '-f', '%{family}', 'Calibri'], capture_output=True, text=True).stdout
    if family.split(',')[0] in ('Calibri', 'Carlito'):
        return f'font: Calibri drawn as {family} (same metrics)'
    return f'font: Calibri drawn as {family}; page counts differ from Excel (Debian: fonts-crosextra-carlito)'


def to_pdf(office: str, workbook: Path) -> Path:
    """The workbook as PDF next to it; a private LibreOffice profile, so a running office does not interfere."""
    profile = Path(tempfile.mkdtemp(prefix='potrack-lo-profile-'))
    command = [
        office,
        f'-env:UserInstallation={profile.as_uri()}',
        '--headless',
        '--convert-to',
        'pdf',
        '--outdir',
        str(workbook.parent),
        str(workbook),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=CONVERT_TIMEOUT_S)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return workbook.with_suffix('.pdf')


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page, as displayed (rotation applied), from pdfinfo."""
    info = subprocess.run(['pdfinfo', '-f', '1', '-l', '1000000', str(pdf)], check=True, capture_output=True, text=True)
    turned = {int(n) for n, rot in PAGE_ROT.findall(info.stdout) if int(rot) % 180}
    sizes = [(int(n), float(w), float(h)) for n, w, h in PAGE_SIZE.findall(info.stdout)]
    return [(h, w) if n in turned else (w, h) for n, w, h in sizes]


def page_sheets(pdf: Path) -> list[str | None]:
    """The sheet each page belongs to, from the first line of its text (the page header names the sheet)."""
    if not shutil.which('pdftotext'):
        return []
    text = subprocess.run(['pdftotext', '-layout', str(pdf), '-'], check=True, capture_output=True, text=True).stdout
    pages = text.split('\f')[:-1]  # pdftotext ends every page with a form feed
    found: list[str | None] = []
    for page in pages:
        first = next((line for line in page.splitlines() if line.strip()), '')
        found.append(next((name for name in SHEETS if re.search(rf'\b{name}\b', first)), None))
    return found


def render(pdf: Path, sheets: list[str | None], per_sheet: int) -> None:
    """The first `per_sheet` pages of every sheet (or of the whole PDF) as PNG at 50 dpi."""
    if not shutil.which('pdftoppm'):
        print('PNG skipped: pdftoppm (poppler-utils) is not installed')
        return
    wanted: list[int] = []
    for name in SHEETS:
        wanted += [n for n, sheet in enumerate(sheets, 1) if sheet == name][:per_sheet]
    for n in wanted or range(1, per_sheet + 1):
        prefix = pdf.with_name(f'{pdf.stem}-page{n}')
        pages = ['-f', str(n), '-l', str(n), '-singlefile']
        subprocess.run(['pdftoppm', '-png', '-r', '50', *pages, str(pdf), str(prefix)], check=True)
        print(f'rendered {prefix}.png')


def report(pdf: Path, png: int) -> None:
    if not shutil.which('pdfinfo'):
        print(f'{pdf}: page count skipped: pdfinfo (Debian package poppler-utils) is not installed')
        return
    sizes = page_sizes(pdf)
    portrait = sum(1 for width, height in sizes if width < height)
    print(f'{pdf}: {len(sizes)} pages in total')
    sheets = page_sheets(pdf)
    if sheets and all(sheets):
        counts = Counter(sheets)
        print('pages per sheet: ' + ', '.join(f'{name} {counts[name]}' for name in SHEETS))
    else:
        print('pages per sheet: unknown (the pages carry no header naming their sheet)')
    if portrait:
        print(f'landscape: NO, {portrait} of {len(sizes)} pages are portrait')
    else:
        print(f'landscape: yes, every page ({sizes[0][0]:.0f} x {sizes[0][1]:.0f} pt)' if sizes else 'no pages')
    if png:
        render(pdf, sheets, png)


def run(db: Database, args: object) -> None:
    out = Path(args.out or tempfile.mkdtemp(prefix='potrack-print-'))  # type: ignore[attr-defined]
    out.mkdir(parents=True, exist_ok=True)
    workbook = write_workbook(db, args.movements, args.seed, out)  # type: ignore[attr-defined]
    office = libreoffice()
    if office is None:
        print('PDF skipped: LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)')
        return
    print(f'converting with {office} …; {font_note()}', flush=True)
    report(to_pdf(office, workbook), args.png)  # type: ignore[attr-defined]


def main() -> None:
    parser = base_parser('The Excel export printed to PDF by LibreOffice: pages per sheet, orientation.')
    parser.add_argument('--movements', type=int, default=3000)
    parser.add_argument('--seed', type=int, default=18, help='demo data seed: the same workbook every run')
    parser.add_argument('--sqlite', action='store_true', help='use an SQLite file instead of PostgreSQL')
    parser.add_argument('--out', help='folder for the workbook, the PDF and the PNGs (default: a new temp folder)')
    parser.add_argument('--png', type=int, default=0, help='render the first N pages of each sheet to PNG')
    args = parser.parse_args()
    run_on_database(args, 'print', lambda db: run(db, args), DATA / 'potrack.db')


if __name__ == '__main__':
    main()
