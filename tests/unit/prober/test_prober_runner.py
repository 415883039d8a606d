"""The runner's pure parts: port resolution, exec command expansion and exec verdicts."""

from __future__ import annotations

import pytest

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.runner import (
    PortNotResolved,
    exec_command,
    exec_outcome,
    resolve_port,
)

CONTAINER = {
    "ports": [{"name": "http", "containerPort": 8080}],
    "env": [
        {"name": "FILE", "value": "/tmp/ok"},
        {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ],
}


@pytest.mark.parametrize(
    ("port", "expected"),
    [(8080, 8080), ("http", 8080), ("9090", 9090), (65535, 65535)],
)
def test_ports_resolve_by_number_or_by_the_containers_own_name(
    port: int | str, expected: int
) -> None:
    assert resolve_port(port, CONTAINER) == expected


@pytest.mark.parametrize(
    ("port", "text"),
    [
        ("web", 'strconv.Atoi: parsing "web": invalid syntax'),
        (0, "invalid port number: 0"),
        (70000, "invalid port number: 70000"),
    ],
)
def test_unresolvable_ports_carry_the_kubelets_text(port: int | str, text: str) -> None:
    with pytest.raises(PortNotResolved) as err:
        resolve_port(port, CONTAINER)
    assert str(err.value) == text


def test_exec_expands_only_literal_env_values() -> None:
    probe = {"command": ["cat", "$(FILE)", "$(SECRET)", "$$(FILE)"]}
    assert exec_command(probe, CONTAINER) == ("cat", "/tmp/ok", "$(SECRET)", "$(FILE)")


def test_exec_verdicts() -> None:
    argv = ("sh", "-c", "sleep 10")
    assert exec_outcome(argv, 0, b"fine\n", timed_out=False) == Outcome(
        HandlerResult.SUCCESS, "fine\n"
    )
    assert exec_outcome(argv, 1, b"out\nerr\n", timed_out=False) == Outcome(
        HandlerResult.FAILURE, "out\nerr\n"
    )
    assert exec_outcome(argv, -1, b"", timed_out=True) == Outcome(
        HandlerResult.FAILURE, 'command "sh -c sleep 10" timed out'
    )
