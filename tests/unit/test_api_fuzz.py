"""`make fuzz` fails on what breaks the contract, and only reports the rest."""

from __future__ import annotations

from typing import Any

from tools.api_fuzz import summarize


def report(*failures: tuple[str, int]) -> dict[str, Any]:
    return {
        "operations": {"tested": 21},
        "test_cases": {"generated": 400},
        "failures": [
            {"code": code, "title": f"title of {code}", "count": count, "operations": ["POST /v1/x"]}
            for code, count in failures
        ],
    }


def test_a_clean_run_passes_with_its_figures() -> None:
    figures, blocking = summarize(report(("ST202", 3), ("ST204", 2)))

    assert blocking == []
    assert figures == {
        "operations": 21,
        "cases": 400,
        "server errors": 0,
        "schema violations": 0,
        "accepted without a valid key": 0,
        "other findings": 5,
    }


def test_server_errors_schema_violations_and_ignored_auth_fail_the_run() -> None:
    figures, blocking = summarize(report(("ST101", 2), ("ST105", 1), ("ST108", 4), ("ST401", 1), ("ST202", 7)))

    assert (figures["server errors"], figures["schema violations"], figures["accepted without a valid key"]) == (
        2,
        5,
        1,
    )
    assert figures["other findings"] == 7
    assert [line.split(" ", 1)[0] for line in blocking] == ["ST101", "ST105", "ST108", "ST401"]
