"""Policies, sizers and cost models by reference: built-in names, modules and files.

Importing this package installs the finder that imports policy files under stable synthetic
module names (so their classes pickle into worker processes).
"""

from houseedge.app.references._files import display_path, import_file, module_name
from houseedge.app.references._params import (
    REQUIRED,
    Param,
    check_params,
    convert_text,
    param_specs,
    parse_params,
)
from houseedge.app.references._resolve import COST_MODELS, SIZERS, Kind, build, builtins, resolve

__all__ = [
    "COST_MODELS",
    "REQUIRED",
    "SIZERS",
    "Kind",
    "Param",
    "build",
    "builtins",
    "check_params",
    "convert_text",
    "display_path",
    "import_file",
    "module_name",
    "param_specs",
    "parse_params",
    "resolve",
]
