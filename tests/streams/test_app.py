"""The app factory: one worker's app and topics from the settings given, nothing at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.settings import load_settings
from streams import topics as catalogue
from streams.app import build_app, declare_topics

ROOT = Path(__file__).resolve().parent.parent.parent


def test_importing_the_app_module_builds_no_app_and_reads_no_setting() -> None:
    probe = (
        "import os, sys\n"
        "os.environ['TOPIC_PARTITIONS'] = 'not a number'\n"  # a settings read at import would fail
        "import streams.app, tables.features, tables.risk, streams.compat, agents.pipeline\n"
        "print('faust.app.base' in sys.modules and hasattr(streams.app, 'app'))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_an_app_and_its_topics_come_from_the_settings_given(tmp_path: Path) -> None:
    settings = load_settings(
        app_id="solbot-test", topic_partitions=3, broker_url="kafka://127.0.0.1:1", data_dir=tmp_path
    )
    app = build_app(settings)
    topics = declare_topics(app, settings)
    assert app.conf.id == "solbot-test"
    assert str(app.conf.processing_guarantee.value) == "at_least_once"
    assert topics.raw_swaps_topic.get_topic_name() == catalogue.RAW_SWAPS.name
    assert topics.raw_swaps_topic.partitions == 3
    assert topics.signals_topic.partitions == 1
    assert set(topics.risk_inputs_topic.topics) == {spec.name for spec in catalogue.RISK_INPUTS}
    assert topics.features_inputs_topic.topics == ("raw.swaps", "raw.quotes", "raw.perps", "raw.pools")
    other = build_app(
        settings.model_copy(update={"app_id": "another", "processing_guarantee": "exactly_once"})
    )
    assert other.conf.id == "another" and str(other.conf.processing_guarantee.value) == "exactly_once"


def test_worker_web_serves_no_table_data_and_binds_loopback_by_default(tmp_path: Path) -> None:
    """Faust's `/table/<name>/<key>/` would serve positions and features to whoever reaches the port."""
    from faust.web.base import Web

    app = build_app(load_settings(data_dir=tmp_path, broker_url=None))
    assert app.conf.web_tables_enabled is False and app.conf.web_router_enabled is False
    assert app.conf.web_bind == "127.0.0.1"
    web: Web = app.web
    prefixes = {prefix for prefix, _ in web.blueprints._enabled}
    assert "" in prefixes and "/table" not in prefixes and "/router" not in prefixes  # the index stays
