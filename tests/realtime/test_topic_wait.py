"""`wait_for_topics`: a process starting while the cluster cannot answer waits and says why.

The chaos suite (seed 32) found a consumer restarted during a partition-leader kill exiting on
`TimeoutError`: the metadata came back, then describe_configs went unanswered. Every broker-facing
failure of `ensure_topics` is now a reason to wait, not to exit.
"""

import logging
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from realtime import topic_admin


def test_a_timed_out_admin_request_is_waited_out_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[Any] = [
        TimeoutError(),  # concurrent.futures: describe_configs not answered in time
        KafkaException(KafkaError(KafkaError._TRANSPORT)),  # the broker went away
        ["the plan"],
    ]
    calls: list[int] = []

    def ensure_topics() -> Any:
        calls.append(len(calls))
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(topic_admin, "ensure_topics", ensure_topics)
    with caplog.at_level(logging.WARNING, logger=topic_admin.log.name):
        result = topic_admin.wait_for_topics(max_backoff_s=0.5)

    assert result == ["the plan"]
    assert len(calls) == 3
    waits = [r.getMessage() for r in caplog.records if "not ready" in r.getMessage()]
    assert len(waits) == 2
    assert "TimeoutError" in waits[0]


def test_a_programming_error_still_surfaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the cluster's failures are waited out; a bug in our own code is not retried forever."""

    def ensure_topics() -> Any:
        raise KeyError("not a broker problem")

    monkeypatch.setattr(topic_admin, "ensure_topics", ensure_topics)
    with pytest.raises(KeyError):
        topic_admin.wait_for_topics(max_backoff_s=0.5)
