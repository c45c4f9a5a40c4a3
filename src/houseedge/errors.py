"""The houseedge exception tree.

Every error the package raises on purpose descends from one root, so callers can catch
``HouseEdgeError`` and still tell the leaves apart::

    HouseEdgeError
    ├── ConfigError              a setting is missing or malformed
    ├── DataError                input data cannot be stored or read
    │   ├── SchemaMismatch       a column is missing or has the wrong type
    │   ├── InvalidData          a value breaks a rule (NaN price, high < low, unsorted time, ...)
    │   ├── FormatError          a file is not of the format it was said (or detected) to be
    │   └── DatasetNotFound      a dataset or run id is not in the store
    ├── QueryError               a SQL query failed
    ├── PolicyError              a policy is misconfigured or produced an unusable target
    ├── RiskRejected             a pre-trade check stopped an order
    └── BrokerError              a broker call failed
        ├── BrokerUnavailable    the venue could not be reached
        └── OrderRejected        the venue refused an order

Errors about bad input carry the input's name (``source``), the place (``row``, ``field``) and
what was expected, both as attributes and in the message. Bugs raise ``ValueError`` or
``TypeError``.
"""

from __future__ import annotations


class HouseEdgeError(Exception):
    """Root of every error houseedge raises on purpose."""


class ConfigError(HouseEdgeError):
    """A setting is missing or malformed."""


class DataError(HouseEdgeError):
    """Input data cannot be stored or read.

    Parameters
    ----------
    message
        What is wrong, in words.
    source
        The input: a file path, a dataset name or a stream name.
    row
        The row (1-based line number in a file, 0-based index in a frame) where it went wrong.
    field
        The column or field at fault.
    expected
        What was expected there.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.row = row
        self.field = field
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = [
            f"{name} {value}"
            for name, value in (("row", self.row), ("field", self.field))
            if value is not None
        ]
        head = f"{self.source}: " if self.source else ""
        place = f" ({', '.join(where)})" if where else ""
        tail = f"; expected {self.expected}" if self.expected else ""
        return f"{head}{self.reason}{place}{tail}"


class SchemaMismatch(DataError):
    """A column is missing or has a type that cannot be cast to the dataset's."""


class InvalidData(DataError):
    """A value breaks a dataset rule."""


class FormatError(DataError):
    """A file is not of the format it was said, or detected, to be."""


class DatasetNotFound(DataError):
    """A dataset, run or file is not in the store."""


class QueryError(HouseEdgeError):
    """A SQL query failed."""


class PolicyError(HouseEdgeError):
    """A policy is misconfigured or produced an unusable target."""


class RiskRejected(HouseEdgeError):
    """A pre-trade risk check stopped an order.

    Parameters
    ----------
    check
        The name of the check that failed (``"max_position"``, ``"price_band"``, ...).
    detail
        What the order asked for and what the limit allows.
    """

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"risk check {check} rejected the order: {detail}")


class BrokerError(HouseEdgeError):
    """A broker call failed."""


class BrokerUnavailable(BrokerError):
    """The venue could not be reached or timed out."""


class OrderRejected(BrokerError):
    """The venue refused an order."""
