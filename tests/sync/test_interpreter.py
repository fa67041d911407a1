"""The interpreter's settings while a sync's pipeline runs (integrations/mail/sync/interpreter)."""

from __future__ import annotations

import gc
import sys

from integrations.mail.sync.interpreter import (
    SWITCH_INTERVAL,
    YOUNG_COLLECTION_THRESHOLD,
    pipeline_interpreter,
)


def settings() -> tuple[float, tuple[int, int, int], int]:
    return sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()


def test_the_pipeline_freezes_the_heap_and_collects_young_objects_less_often() -> None:
    before = settings()
    with pipeline_interpreter():
        switch, threshold, frozen = settings()
        assert switch == min(before[0], SWITCH_INTERVAL)
        assert threshold == (max(before[1][0], YOUNG_COLLECTION_THRESHOLD), *before[1][1:])
        assert frozen > 0
    assert settings() == before


def test_the_settings_come_back_even_when_the_pipeline_fails() -> None:
    before = settings()
    try:
        with pipeline_interpreter():
            raise RuntimeError("the provider went away")
    except RuntimeError:
        pass
    assert settings() == before


def test_overlapping_runs_restore_the_settings_only_when_the_last_one_ends() -> None:
    before = settings()
    first, second = pipeline_interpreter(), pipeline_interpreter()
    first.__enter__()
    second.__enter__()
    tuned = settings()
    first.__exit__(None, None, None)  # not in the order they began
    assert settings()[:2] == tuned[:2]
    assert gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert settings() == before


def test_a_heap_the_process_froze_itself_stays_frozen() -> None:
    gc.freeze()
    try:
        with pipeline_interpreter():
            assert gc.get_threshold()[0] >= YOUNG_COLLECTION_THRESHOLD
        assert gc.get_freeze_count() > 0  # unfreezing would have emptied it
    finally:
        gc.unfreeze()
