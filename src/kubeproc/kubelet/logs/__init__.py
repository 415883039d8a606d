"""Container logs in the CRI format: written by the runtimes, read by the kubelet's server.

The public door: ``CriLogWriter`` appends a container's output to its log file and
rotates it by size; ``read_logs`` yields what ``kubectl logs`` prints for one log file,
following it if asked; ``LogOptions`` carries the ``PodLogOptions`` that apply. The
record format itself (``format``) and the selection rules (``select``) are pure.
"""

from kubeproc.kubelet.logs.format import (
    DEFAULT_MAX_LINE,
    LogFormatError,
    LogRecord,
    Stream,
    Timestamp,
    format_timestamp,
    parse_record,
    parse_timestamp,
)
from kubeproc.kubelet.logs.reader import find_tail_start, read_logs
from kubeproc.kubelet.logs.select import LogFilter, LogOptions, TailScanner
from kubeproc.kubelet.logs.writer import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_FILES,
    CriLogWriter,
    remove_log_files,
    rotated_log_paths,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_LINE",
    "CriLogWriter",
    "LogFilter",
    "LogFormatError",
    "LogOptions",
    "LogRecord",
    "Stream",
    "TailScanner",
    "Timestamp",
    "find_tail_start",
    "format_timestamp",
    "parse_record",
    "parse_timestamp",
    "read_logs",
    "remove_log_files",
    "rotated_log_paths",
]
