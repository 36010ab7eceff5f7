"""`potrack serve` with a sampling profile of its main thread (the event loop), for bench/kiosk_load.py --profile.

Bench-only: the product never imports this. The profile runs only between SIGUSR1 (start) and SIGUSR2 (stop and
write), so that the bench profiles exactly its load phase. It uses pyinstrument when importable (not a potrack
dependency: `pip install --target DIR pyinstrument` and put DIR on PYTHONPATH), else cProfile.

    BENCH_PROFILE_OUT=/tmp/prof python -m bench.profiled_serve   (the rest of the environment as for potrack serve)

Writes BENCH_PROFILE_OUT.txt (and .html and .pyisession with pyinstrument, .pstats with cProfile).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any


def main() -> int:
    out = os.environ['BENCH_PROFILE_OUT']
    profiler: Any
    try:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode='disabled')
        kind = 'pyinstrument'
    except ImportError:
        import cProfile

        profiler = cProfile.Profile()
        kind = 'cprofile'

    def start(_sig: int, _frame: FrameType | None) -> None:
        if kind == 'pyinstrument':
            profiler.start()
        else:
            profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        if kind == 'pyinstrument':
            profiler.stop()
            with open(f'{out}.txt', 'w') as f:
                f.write(profiler.output_text(unicode=True, color=False, show_all=False))
            with open(f'{out}.html', 'w') as f:
                f.write(profiler.output_html())
            profiler.last_session.save(f'{out}.pyisession')  # `pyinstrument --load` renders it again, any way
        else:
            import pstats

            profiler.disable()
            profiler.dump_stats(f'{out}.pstats')
            with open(f'{out}.txt', 'w') as f:
                pstats.Stats(profiler, stream=f).sort_stats('cumulative').print_stats(80)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from potrack.cli import main as potrack_main

    return potrack_main(['serve'])


if __name__ == '__main__':
    sys.exit(main())
