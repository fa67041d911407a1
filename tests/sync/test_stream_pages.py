"""The download's order: each stream's pages in order, the streams interleaved newest mail
first (Graph's inbox, sent items and archive against the sandbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from integrations.mail.sync.download import stream_pages
from integrations.providers.mail import SyncWindow
from integrations.sandbox.client import SandboxClient
from tests.providers.graph_support import OWNER, GraphWorld, make_graph_world


@pytest.fixture
def world(sandbox: SandboxClient, settings: Any) -> GraphWorld:
    return make_graph_world(sandbox, settings)


def test_streams_interleave_newest_mail_first_and_each_ends_after_its_last_page(
    world: GraphWorld,
) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=5, count=300, span_days=90)
    driver = world.driver(page_size=20)
    listed: dict[str, list[str]] = {stream: [] for stream in driver.streams}
    for row in world.sandbox.microsoft.messages(OWNER)["messages"]:
        if row["folder"] in listed:
            listed[row["folder"]].append(row["immutableId"])

    order = list(stream_pages(driver, {}, SyncWindow(since=None)))

    ended = [stream for stream, item in order if item is None]
    assert sorted(ended) == sorted(driver.streams)
    # Every stream's messages, each once, none after its end.
    for stream in driver.streams:
        end = order.index((stream, None))
        ids = [
            m.provider_id
            for s, item in order[:end]
            if s == stream and item
            for m in item[0].messages
        ]
        assert sorted(ids) == sorted(listed[stream]) != []
        assert all(s != stream for s, _ in order[end + 1 :])
    # The first pages: one from each stream, in the streams' order.
    first = [stream for stream, _ in order[: len(driver.streams)]]
    assert first == list(driver.streams)
    # After that, each page comes from the stream whose mail so far reaches the latest date:
    # the dates the chosen streams had reached never go back up.
    reached: dict[str, datetime] = {}
    chosen: list[datetime] = []
    for stream, item in order:
        if item is None:
            continue
        if stream in reached:
            chosen.append(reached[stream])
        if item[0].messages:
            reached[stream] = min(m.received_at for m in item[0].messages)
    assert len(chosen) > 10
    assert chosen == sorted(chosen, reverse=True)
