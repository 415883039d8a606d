"""The CRI log writer: stamped records in one file, rotated by size within fixed bounds."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kubeproc.kubelet.logs.format import Stream, parse_record
from kubeproc.kubelet.logs.writer import CriLogWriter, remove_log_files, rotated_log_paths

START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def ticking_clock() -> itertools.count[int]:
    return itertools.count(START_NS, 1_000)


def records(path: Path) -> list[tuple[str, bool, bytes]]:
    out = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        record = parse_record(line)
        out.append((record.stream.value, record.partial, record.content))
    return out


def test_both_streams_are_written_as_stamped_records(tmp_path: Path) -> None:
    """stdout and stderr share the file; each record carries the writer's clock."""
    path = tmp_path / "c" / "0.log"
    clock = ticking_clock()
    with CriLogWriter(path, now_ns=clock.__next__) as writer:
        writer.write(Stream.STDOUT, b"out 1\nout ")
        writer.write(Stream.STDERR, b"err 1\n")
        writer.write(Stream.STDOUT, b"2\n")
    lines = path.read_bytes().split(b"\n")
    assert lines[0] == b"2026-01-01T00:00:00.000000000Z stdout F out 1"
    assert lines[1] == b"2026-01-01T00:00:00.000001000Z stderr F err 1"
    assert records(path)[2] == ("stdout", False, b"out 2")


def test_close_writes_the_unterminated_rest_as_full_lines(tmp_path: Path) -> None:
    """Output without a final newline is not lost: it becomes an F record on close."""
    path = tmp_path / "0.log"
    with CriLogWriter(path) as writer:
        writer.write(Stream.STDOUT, b"no newline")
        writer.write(Stream.STDERR, b"either")
    assert records(path) == [("stdout", False, b"no newline"), ("stderr", False, b"either")]


def test_flush_ends_one_stream_only(tmp_path: Path) -> None:
    """flush(stream) writes that stream's rest; the other keeps waiting for its newline."""
    path = tmp_path / "0.log"
    writer = CriLogWriter(path)
    writer.write(Stream.STDOUT, b"a")
    writer.write(Stream.STDERR, b"b")
    writer.flush(Stream.STDERR)
    assert records(path) == [("stderr", False, b"b")]
    writer.close()
    assert records(path)[-1] == ("stdout", False, b"a")


def test_long_lines_are_partial_records(tmp_path: Path) -> None:
    """A line longer than max_line is split into P records ending with an F record."""
    path = tmp_path / "0.log"
    with CriLogWriter(path, max_line=1024) as writer:
        writer.write(Stream.STDOUT, b"z" * 2500 + b"\n")
    assert [(partial, len(content)) for _, partial, content in records(path)] == [
        (True, 1024),
        (True, 1024),
        (False, 452),
    ]


def test_rotation_keeps_max_files_each_under_max_bytes(tmp_path: Path) -> None:
    """Past max_bytes the file moves to .1 (older ones shift), at most max_files in all."""
    path = tmp_path / "0.log"
    line = b"x" * 99 + b"\n"
    with CriLogWriter(path, max_bytes=2048, max_files=3, max_line=1024) as writer:
        for i in range(200):
            writer.write(Stream.STDOUT, b"%05d" % i + line)
    files = [path, *rotated_log_paths(path)]
    assert [p.name for p in files] == ["0.log", "0.log.1", "0.log.2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.log", "0.log.1", "0.log.2"]
    assert all(p.stat().st_size <= 2048 for p in files)
    # Rotation cuts between records, newest last in the current file, order kept across.
    contents = [c for p in reversed(files) for _, _, c in records(p)]
    numbers = [int(c[:5]) for c in contents]
    assert numbers == list(range(numbers[0], 200))


def test_one_file_means_starting_over(tmp_path: Path) -> None:
    """max_files=1: the full file is dropped and a new one started, nothing rotated."""
    path = tmp_path / "0.log"
    with CriLogWriter(path, max_bytes=1200, max_files=1, max_line=1024) as writer:
        for _ in range(30):
            writer.write(Stream.STDOUT, b"y" * 99 + b"\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.log"]
    assert path.stat().st_size <= 1200


def test_a_big_burst_stays_bounded(tmp_path: Path) -> None:
    """10 MB written in big chunks of short lines ends within max_files x max_bytes."""
    path = tmp_path / "0.log"
    chunk = b"0123456789abcdef\n" * 4096
    with CriLogWriter(path, max_bytes=256 * 1024, max_files=4) as writer:
        for _ in range(10 * 1024 * 1024 // len(chunk)):
            writer.write(Stream.STDOUT, chunk)
    files = [path, *rotated_log_paths(path)]
    assert len(files) == 4
    assert all(p.stat().st_size <= 256 * 1024 for p in files)


def test_an_existing_file_is_appended_to_and_counted(tmp_path: Path) -> None:
    """Reopening a log appends, and its size counts towards the rotation limit."""
    path = tmp_path / "0.log"
    path.write_bytes(b"2026-01-01T00:00:00.000000000Z stdout F old\n" * 45)  # 1980 bytes
    with CriLogWriter(path, max_bytes=2000, max_files=2, max_line=512) as writer:
        writer.write(Stream.STDOUT, b"new\n")
    assert records(path) == [("stdout", False, b"new")]
    assert records(rotated_log_paths(path)[0])[0] == ("stdout", False, b"old")


def test_limits_are_checked(tmp_path: Path) -> None:
    """max_bytes must hold a full record; max_files at least one."""
    with pytest.raises(ValueError, match="max_bytes"):
        CriLogWriter(tmp_path / "a.log", max_bytes=100, max_line=1024)
    with pytest.raises(ValueError, match="max_files"):
        CriLogWriter(tmp_path / "a.log", max_files=0)


def test_remove_log_files_deletes_the_log_and_its_rotations(tmp_path: Path) -> None:
    """Only the log and its numbered rotations go; a sibling log stays."""
    for name in ["0.log", "0.log.1", "0.log.2", "1.log", "0.log.tmp"]:
        (tmp_path / name).write_bytes(b"")
    remove_log_files(tmp_path / "0.log")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.log.tmp", "1.log"]
    remove_log_files(tmp_path / "missing.log")
