"""`streams.compat.install`: the app's own consumer gets the guard; Tansu's workarounds only on Tansu."""

from __future__ import annotations

from pathlib import Path

from core.settings import load_settings
from streams.app import build_app
from streams.compat import install


def consumer_of(kind: str, tmp_path: Path) -> tuple[object, object]:
    settings = load_settings(broker_url="kafka://127.0.0.1:1", data_dir=tmp_path)
    app = build_app(settings)
    compat = install(app, broker_kind=kind, bootstrap="127.0.0.1:1", fetch_max_wait_ms=15)  # type: ignore[arg-type]
    assert compat.guard is None  # nothing happens before the app makes its consumer
    return app.consumer, compat


def test_on_tansu_the_consumer_is_guarded_and_gets_the_fetch_wait_and_exact_end_offsets(
    tmp_path: Path,
) -> None:
    consumer, compat = consumer_of("tansu", tmp_path)
    assert compat.guard is not None  # type: ignore[attr-defined]
    for name in (
        "seek",
        "_getmany",
        "getmany",
        "perform_seek",
        "on_partitions_assigned",
        "on_partitions_revoked",
    ):
        assert name in vars(consumer), name  # wrapped on the instance, never on Faust's class
    thread = consumer._thread  # type: ignore[attr-defined]
    assert {"_create_worker_consumer", "_highwaters"} <= set(vars(thread))


def test_on_kafka_only_the_guard_is_installed(tmp_path: Path) -> None:
    consumer, compat = consumer_of("kafka", tmp_path)
    assert compat.guard is not None  # type: ignore[attr-defined]
    assert "getmany" in vars(consumer)
    assert not {"_create_worker_consumer", "_highwaters"} & set(vars(consumer._thread))  # type: ignore[attr-defined]


def test_another_app_in_the_process_is_untouched(tmp_path: Path) -> None:
    consumer_of("tansu", tmp_path)
    other = build_app(load_settings(broker_url="kafka://127.0.0.1:1", data_dir=tmp_path, app_id="other"))
    assert "getmany" not in vars(other.consumer)
    assert "_highwaters" not in vars(other.consumer._thread)
