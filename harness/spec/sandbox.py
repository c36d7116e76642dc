"""What a scenario file may reach: a scenario file is data, never code or a way out of the project.

A scenario may come from a pull request, so what it names is checked before anything is read or
imported:

* ``files:`` of a ``send`` are read only from under the scenario file's own folder or the project's
  root (symbolic links resolved, regular files only), or from a folder the ini option
  ``chat_file_roots`` adds;
* ``app:`` imports only a module whose file lies under the project's root (not in an installed
  package or a virtual environment), or one the ini option ``chat_trusted_apps`` names
  (``fnmatch`` patterns of module names). The module is located without importing anything.

What the command line and the ini name (``--chat-app``, ``chat_app``) is the user's own choice
and is not checked here.
"""

from __future__ import annotations

import fnmatch
import importlib.machinery
import importlib.util
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sandbox"]

FILE_ROOTS_INI = "chat_file_roots"
TRUSTED_APPS_INI = "chat_trusted_apps"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _installed_code_folders() -> list[Path]:
    """Where installed packages and interpreters live: never the project's own code."""
    folders = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    folders.update(Path(p).resolve() for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    return sorted(folders)


@dataclass(frozen=True)
class Sandbox:
    """The folders a scenario file may read and the apps it may import."""

    root: Path
    file_roots: tuple[Path, ...] = ()
    trusted_apps: tuple[str, ...] = ()
    #: folders of installed code (site-packages, the interpreter): never "the project" even inside it
    installed: tuple[Path, ...] = field(default_factory=lambda: tuple(_installed_code_folders()))

    @classmethod
    def for_project(cls, root: str | Path, file_roots: Iterable[str] = (), trusted_apps: Iterable[str] = ()) -> Sandbox:
        """``file_roots`` relative to ``root`` unless absolute."""
        base = Path(root).resolve()
        return cls(base, tuple((base / r).resolve() for r in file_roots), tuple(trusted_apps))

    # -- files: ------------------------------------------------------------------------------------

    def file_problem(self, path: Path, scenario_folder: Path) -> str | None:
        """Why a scenario in ``scenario_folder`` may not attach ``path`` (None: it may)."""
        real = path.resolve()
        allowed = [scenario_folder.resolve(), self.root, *self.file_roots]
        if not any(_inside(real, folder) for folder in allowed):
            where = ", ".join(str(f) for f in dict.fromkeys(allowed))
            return (
                f"is outside the folders a scenario may read ({where}); a scenario file is data and attaches only "
                "files of "
                f"its project (add a folder to the ini option {FILE_ROOTS_INI} to allow more)"
            )
        try:
            mode = real.stat().st_mode
        except OSError as exc:
            return f"cannot be read: {exc.strerror or exc}"
        if not stat.S_ISREG(mode):
            return "is not a regular file"
        if not os.access(real, os.R_OK):
            return "cannot be read (permission denied)"
        return None

    # -- app: --------------------------------------------------------------------------------------

    def app_problem(self, spec: str, search: Sequence[str] | None = None) -> str | None:
        """Why a scenario file may not name the app ``spec`` (module:attr) (None: it may).

        The module is found as ``import`` would find it with the working directory first on the
        path (as the harness imports apps), without running any of its code.
        """
        module = spec.partition(":")[0]
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in self.trusted_apps):
            return None
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return f"names {top!r}, a module of Python's standard library, not an app of the project ({self.root})"
        origins = _module_files(module, list(search) if search is not None else [str(Path.cwd()), *sys.path])
        if origins is None:
            return f"names the module {module!r}, which cannot be found under the project ({self.root})"
        outside = [o for o in origins if not _inside(o, self.root) or any(_inside(o, f) for f in self.installed)]
        if outside:
            return (
                f"names the module {module!r} from {outside[-1]}, outside the project's own code ({self.root}); a "
                "scenario file "
                f"imports only the project's apps (name the module in the ini option {TRUSTED_APPS_INI} to allow it)"
            )
        return None


def _module_files(name: str, search: list[str]) -> list[Path] | None:
    """The files (or package folders) ``import name`` would run, found without importing; None if not found."""
    files: list[Path] = []
    locations: list[str] | None = search
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):
        fullname = ".".join(parts[:depth])
        loaded = sys.modules.get(fullname)
        spec = getattr(loaded, "__spec__", None) if loaded is not None else None
        if spec is None:
            try:
                spec = importlib.machinery.PathFinder.find_spec(fullname, locations)
            except (ImportError, ValueError, OSError):
                return None
        if spec is None:
            return None
        if spec.origin and spec.origin not in ("built-in", "frozen"):
            files.append(Path(spec.origin).resolve())
        elif spec.submodule_search_locations:
            files.extend(Path(p).resolve() for p in spec.submodule_search_locations)
        else:  # compiled into the interpreter: never the project's
            files.append(Path(sys.base_prefix).resolve())
        locations = list(spec.submodule_search_locations or [])
        if depth < len(parts) and not locations:
            return None  # a module, not a package: it has no submodule of that name
    return files


def discover(start: Path) -> Sandbox:
    """The sandbox of the project ``start`` is in, as pytest would find its ini file: the nearest
    ``pytest.ini``, ``pyproject.toml`` with ``[tool.pytest.ini_options]``, ``tox.ini`` with
    ``[pytest]`` or ``setup.cfg`` with ``[tool:pytest]`` in ``start`` or above it (for commands that
    run without pytest, such as ``chat-harness validate``). No ini file: ``start`` is the root."""
    for folder in [start.resolve(), *start.resolve().parents]:
        for name, section in (
            ("pytest.ini", "pytest"),
            ("pyproject.toml", None),
            ("tox.ini", "pytest"),
            ("setup.cfg", "tool:pytest"),
        ):
            path = folder / name
            if not path.is_file():
                continue
            options = _ini_options(path, section)
            if options is not None:
                return Sandbox.for_project(folder, options.get(FILE_ROOTS_INI, []), options.get(TRUSTED_APPS_INI, []))
    return Sandbox.for_project(start)


def _ini_options(path: Path, section: str | None) -> dict[str, list[str]] | None:
    """The pytest options of one ini file as lists of words (None: it holds no pytest section)."""
    if section is None:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - pytest needs tomli on 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        table = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if not isinstance(table, dict):
            return None
        return {str(k): [str(x) for x in v] if isinstance(v, list) else str(v).split() for k, v in table.items()}
    import iniconfig

    try:
        ini = iniconfig.IniConfig(str(path))
    except (OSError, iniconfig.ParseError):
        return None
    if section not in ini:
        return {} if path.name == "pytest.ini" else None
    return {name: str(value).split() for name, value in ini[section].items()}
