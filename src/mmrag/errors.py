"""Every error mmrag raises on purpose.

Each message says what went wrong *and* what to do about it. Only ``cli.py``
and ``server/`` turn these into exit codes or HTTP statuses.

::

    MmragError
    ├── ConfigError            bad config value, unknown backend name
    ├── MissingDependency      an optional extra is not installed
    ├── ModelNotFound          weights cannot be resolved (path / cache / hub / package)
    ├── SpaceMismatch          index was built with another space
    ├── IndexError_            index folder / collection missing, unreadable or locked
    │   └── IndexLocked        another process is writing this index (one writer at a time)
    ├── StoreError             the vector store failed (I/O, server down, bad filter)
    │   └── FilterError        a --where expression could not be parsed or is unsafe
    ├── IngestError            one file could not be read (corrupt, empty, too big, ...)
    │   └── UnsupportedFile    the file's type is not one mmrag indexes
    ├── QueryError             a query could not be embedded (empty text, bad image ...)
    ├── GenerationError        the generator failed (server down, bad reply ...)
    └── TrainingError          bad pairs file, diverged loss, bad checkpoint
"""

from __future__ import annotations


class MmragError(Exception):
    """Root of every error mmrag raises on purpose."""


class ConfigError(MmragError):
    """A configuration value or a backend name is wrong."""


class MissingDependency(MmragError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the Python package '{package}': "
            f'pip install "mmrag[{extra}]"'
        )
        self.package = package
        self.extra = extra


class ModelNotFound(MmragError):
    """Model weights could not be found by any resolution step."""


class SpaceMismatch(MmragError):
    """The index was created with a different embedding space."""


class IndexError_(MmragError):
    """The index location is missing, unreadable or not an mmrag index."""


class IndexLocked(IndexError_):
    """Another writer holds the index's writer lock; ``pid`` names it when known."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class StoreError(MmragError):
    """The vector store failed."""


class FilterError(StoreError):
    """A metadata filter (``--where``) could not be parsed or uses unknown columns."""


class IngestError(MmragError):
    """One source could not be ingested; the rest of the batch goes on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedFile(IngestError):
    """The file's content is not a type mmrag indexes."""


class QueryError(MmragError):
    """A query could not be turned into a vector."""


class GenerationError(MmragError):
    """The answer generator failed."""


class TrainingError(MmragError):
    """Training could not run or produced an unusable result."""


__all__ = [
    "ConfigError",
    "FilterError",
    "GenerationError",
    "IndexError_",
    "IndexLocked",
    "IngestError",
    "MissingDependency",
    "MmragError",
    "ModelNotFound",
    "QueryError",
    "SpaceMismatch",
    "StoreError",
    "TrainingError",
    "UnsupportedFile",
]
