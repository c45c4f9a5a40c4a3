"""Policy files imported under stable synthetic module names, so their classes pickle.

``path/to/strategy.py`` is imported as ``houseedge.app.references.file_<hex of its absolute
path>``. A finder installed with this package resolves such a name back to the file, so a
worker process (spawned, or a Ray worker on the same machine) that unpickles a class from the
file imports it again by itself. Every class the file defines remembers its reference
(``strategy.py:Class``: relative to the working directory when inside it) and the sha256 of the
bytes executed; the same file is executed again only when its bytes change.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from houseedge.core.policies.registry import REFERENCE_ATTRIBUTE, SOURCE_ATTRIBUTE

__all__ = ["display_path", "import_file", "module_name"]

_PREFIX = f"{__name__.rpartition('.')[0]}.file_"
_DIGEST = "__houseedge_source__"


def module_name(path: Path) -> str:
    """Return the synthetic module name of the file at ``path`` (made absolute).

    Examples
    --------
    >>> module_name(Path("/s.py"))
    'houseedge.app.references.file_2f732e7079'
    """
    return _PREFIX + path.absolute().as_posix().encode().hex()


def _path_of(name: str) -> Path | None:
    if not name.startswith(_PREFIX):
        return None
    try:
        return Path(bytes.fromhex(name.removeprefix(_PREFIX)).decode())
    except ValueError:
        return None


def display_path(path: Path) -> str:
    """Return ``path`` relative to the working directory when inside it, else absolute.

    Examples
    --------
    >>> display_path(Path.cwd() / "strategies" / "trend.py")
    'strategies/trend.py'
    """
    absolute = path.absolute()
    cwd = Path.cwd()
    return (absolute.relative_to(cwd) if absolute.is_relative_to(cwd) else absolute).as_posix()


class _FileLoader(importlib.abc.Loader):
    """Execute a policy file's bytes and mark the classes it defines with where they came from."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        source = self.path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        exec(compile(source, str(self.path), "exec"), module.__dict__)  # noqa: S102
        setattr(module, _DIGEST, digest)
        shown = display_path(self.path)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                setattr(value, REFERENCE_ATTRIBUTE, f"{shown}:{value.__qualname__}")
                setattr(value, SOURCE_ATTRIBUTE, digest)


class _FileFinder(importlib.abc.MetaPathFinder):
    """Find ``houseedge.app.references.file_<hex>`` modules: the file the name encodes."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        file = _path_of(fullname)
        if file is None or not file.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, file, loader=_FileLoader(file))


def import_file(path: Path) -> ModuleType:
    """Return the module of the Python file at ``path``, executed again only if it changed.

    Raises
    ------
    OSError
        The file cannot be read.
    Exception
        Whatever executing the file raised; the previous version (if any) stays loaded.
    """
    path = path.absolute()
    name = module_name(path)
    current = sys.modules.get(name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if current is not None and getattr(current, _DIGEST, None) == digest:
        return current
    spec = importlib.util.spec_from_file_location(name, path, loader=_FileLoader(path))
    if spec is None or spec.loader is None:  # pragma: no cover - a loader is always given
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and get_type_hints look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if current is None:
            del sys.modules[name]
        else:
            sys.modules[name] = current
        raise
    return module


if not any(isinstance(finder, _FileFinder) for finder in sys.meta_path):
    sys.meta_path.append(_FileFinder())
