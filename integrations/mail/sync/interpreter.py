"""The interpreter's settings while a sync's pipeline runs, restored once the last one ends.

    with pipeline_interpreter():
        ... the download thread parses pages while this one stores them ...

- Thread switches every 0.5 ms (default 5 ms). While the download thread parses pages, each
  database round trip of the storing thread ends waiting for the interpreter lock, up to the
  switch interval, at every statement: a shorter interval keeps the store from idling behind
  the parser.
- The cyclic garbage collector leaves the worker's long-lived heap alone (``gc.freeze``:
  Django, the models, the modules, the connections) and runs its young collection every
  10,000 allocations instead of 700. A page's JSON or MIME, its parsed messages and its rows
  are containers that reference counting frees once the page is stored, yet every 700 of them
  set off a young collection, and those that live for a page or two are carried on into full
  collections that walk the whole heap: about 1,050 young and 8 full collections, 0.6 CPU-s,
  in a 20,000-message Graph first sync; 37 young ones, 0.1 CPU-s, with these settings. Cycles
  are still collected, only less often.

The settings are the process's, so overlapping runs (a worker with a thread pool) share them:
the first run in applies them, the last one out restores what it found. A process that froze
its heap itself keeps it frozen: only the threshold changes then.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Iterator

SWITCH_INTERVAL = 0.0005
YOUNG_COLLECTION_THRESHOLD = 10_000

_lock = threading.Lock()
_runs = 0
_saved: tuple[float, tuple[int, int, int], bool] = (0.0, (0, 0, 0), False)


@contextlib.contextmanager
def pipeline_interpreter() -> Iterator[None]:
    global _runs, _saved
    with _lock:
        if _runs == 0:
            switch, threshold = sys.getswitchinterval(), gc.get_threshold()
            # A heap the process froze itself (a worker's, after start-up) stays its business.
            freezes = gc.get_freeze_count() == 0
            _saved = (switch, threshold, freezes)
            sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
            if freezes:
                gc.freeze()
            gc.set_threshold(max(threshold[0], YOUNG_COLLECTION_THRESHOLD), *threshold[1:])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                switch, threshold, froze = _saved
                gc.set_threshold(*threshold)
                if froze:
                    gc.unfreeze()
                sys.setswitchinterval(switch)
