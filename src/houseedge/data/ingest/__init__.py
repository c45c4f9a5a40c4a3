"""Reading market-data files (CSV, Parquet, Feather, ...) into the store's schemas."""

from houseedge.data.ingest._files import FORMATS, Parsed, detect_format, ingest_file, read_file
from houseedge.data.ingest.formats import Container, Format, Options, Reader

__all__ = [
    "FORMATS",
    "Container",
    "Format",
    "Options",
    "Parsed",
    "Reader",
    "detect_format",
    "ingest_file",
    "read_file",
]
