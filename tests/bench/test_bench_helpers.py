"""The benchmark helpers that turn tool output into figures (the benchmarks themselves are not run here)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from benchlib import parse_wrk, percentile  # noqa: E402

WRK_OUTPUT = """Running 20s test @ http://127.0.0.1:41234/annonces
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   241.35ms   80.12ms   1.99s    91.23%
    Req/Sec   104.12     30.55   190.00     70.00%
  Latency Distribution
     50%  230.50ms
     75%  260.10ms
     90%  300.00ms
     99%    1.20s
  4150 requests in 20.03s, 55.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 7
  Non-2xx or 3xx responses: 3
Requests/sec:    207.19
Transfer/sec:      2.75MB
"""


def test_parse_wrk_reads_throughput_latency_and_errors():
    result = parse_wrk(WRK_OUTPUT)
    assert result["requests_per_s"] == pytest.approx(207.19)
    assert result["requests"] == 4150
    assert result["duration_s"] == pytest.approx(20.03)
    assert result["latency"]["p50"] == pytest.approx(0.2305)
    assert result["latency"]["p99"] == pytest.approx(1.2)
    assert result["latency"]["p75"] == pytest.approx(0.2601)
    assert result["socket_errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 7}
    assert result["non_2xx_3xx"] == 3
    assert result["errors"] == 12


def test_parse_wrk_without_errors_and_in_microseconds():
    output = """  Latency Distribution
     50%  712.00us
     99%    3.10ms
  30000 requests in 10.00s, 4.1MB read
Requests/sec:   3000.00
"""
    result = parse_wrk(output)
    assert result["latency"] == {"p50": pytest.approx(0.000712), "p99": pytest.approx(0.0031)}
    assert result["errors"] == 0 and result["requests_per_s"] == 3000.0


def test_percentile_nearest_rank():
    assert percentile([3, 1, 2, 4, 5], 50) == 3
    assert percentile(list(range(101)), 95) == 95
    assert percentile([], 95) != percentile([], 95)  # NaN for no data
