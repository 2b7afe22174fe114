"""The soak benchmark (bench/soak.py): its memory verdict, and a short real run on a tiny data set —
gunicorn, a job worker and an SMTP sink, every kind of simulated action, and the books checked after.
On PostgreSQL (MARKETPLACE_TEST_DATABASE_URL) the run puts its data, search and queue there."""
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import soak  # noqa: E402
from benchlib import least_squares_slope  # noqa: E402


def test_least_squares_slope():
    assert least_squares_slope([(0, 100), (1, 101), (2, 102), (3, 103)]) == pytest.approx(1.0)
    assert least_squares_slope([(0, 100), (1, 104), (2, 100), (3, 104)]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        least_squares_slope([(1, 100), (1, 120)])


def _samples(values, every_s=10):
    return [{"t": i * every_s, "rss_mib": {"web worker 1": v, "consumer": 100.0}} for i, v in enumerate(values)]


def test_memory_verdict_uses_the_samples_after_the_warm_up():
    # high during the warm-up (log-ins hash passwords), then level with one high sample at the end: flat
    values = [180, 170] + [120, 121, 119, 120.5, 120, 120.4] * 3 + [120, 120, 121, 119, 120, 135]
    summary = soak.memory_summary(_samples(values), warmup=20, judged=True)
    assert summary["web worker 1"]["start_mib"] == pytest.approx(120.2)  # median of the first minute
    assert summary["web worker 1"]["end_mib"] == 120  # median of the last minute: not the 135 alone
    assert summary["web worker 1"]["max_mib"] == 135
    assert summary["web worker 1"]["flat"] is True and summary["consumer"]["flat"] is True
    # 2 MiB a minute after the warm-up: a leak
    leaking = soak.memory_summary(_samples([120 + i * 2 / 6 for i in range(40)]), warmup=60, judged=True)
    assert leaking["web worker 1"]["slope_mib_per_min"] == pytest.approx(2.0)
    assert leaking["web worker 1"]["flat"] is False
    # a step of 12 % after the first minute, then level: a gentle slope, but it fails the end-versus-start bound
    step = soak.memory_summary(_samples([100] * 7 + [112] * 53), warmup=0, judged=True)
    assert step["web worker 1"]["slope_mib_per_min"] < soak.SLOPE_LIMIT_MIB_PER_MIN
    assert step["web worker 1"]["flat"] is False
    assert soak.memory_summary(_samples([100, 200, 300]), warmup=0, judged=False)["web worker 1"]["flat"] is None


def test_a_noisy_process_is_judged_on_its_trend_not_on_its_swings():
    """A job worker swings by ±15 MiB from one sample to the next: a level series with such swings is
    flat; the same swings on top of a 3 MiB/min rise are not."""
    swings = [0, 15, -10, 5, -15, 10, -5, 12, -12, 3] * 6
    level = soak.memory_summary(_samples([210 + s for s in swings]), warmup=0, judged=True)["web worker 1"]
    assert level["slope_se"] > 0.3 and level["flat"] is True
    rising = soak.memory_summary(_samples([210 + s + i * 3 / 6 for i, s in enumerate(swings)]), warmup=0,
                                 judged=True)["web worker 1"]
    assert rising["slope_mib_per_min"] == pytest.approx(3, abs=0.5) and rising["flat"] is False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads process memory from /proc (Linux)")
def test_a_short_soak_has_no_error_and_does_everything(tmp_path, capsys):
    argv = ["--listings", "300", "--out", str(tmp_path), "--minutes", "0.35", "--warmup", "5",
            "--visitors", "3", "--members", "6", "--think", "0.2", "0.8", "--workers", "2", "--sample-every", "3",
            "--settle-timeout", "120"]
    database = os.environ.get("MARKETPLACE_TEST_DATABASE_URL", "")
    if database.startswith("postgres"):
        argv += ["--pg-url", database]
    code = soak.main(argv)
    result = json.loads((tmp_path / "soak.json").read_text())
    output = capsys.readouterr().out
    assert result["errors"] == 0, result["error_samples"]
    failed = {name: c["detail"] for name, c in result["checks"].items() if not c["ok"]}
    assert not failed
    assert code == 0, output[-3000:]
    assert {a for a in soak.ACTIONS if result["actions"].get(a, 0) == 0} == set()
    assert result["posted"] and result["approved"] and result["replies"]
    assert result["bids"]["api"] and result["bids"]["form"]
    assert result["emails"]["received"] == result["emails"]["sent"] > 0
    assert set(result["memory"]) == {"web worker 1", "web worker 2", "consumer"}
    assert all(m["flat"] is None for m in result["memory"].values())  # too short to judge, and says so
    assert "memory not judged" in result["verdict"]
    assert (tmp_path / "soak.md").read_text().startswith("# Soak, 300 listings")
