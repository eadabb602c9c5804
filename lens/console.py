"""A quiet console: mediapipe's native log lines, known library warnings, progress bars.

:func:`quiet_native_logs` runs when this module is imported, so a module that
uses mediapipe imports this one at its top (its ``import mediapipe`` is lazy,
inside the function that builds a graph) and every process is quiet before
mediapipe loads: the CLI, the web workers, Ray and ``spawn`` workers alike.
It keeps errors and drops the noise every graph start prints to fd 2:

* ``W0000 ... inference_feedback_manager.cc:114] Feedback manager requires a
  model with a single signature inference`` (absl logging, one per graph) and
  ``WARNING: All log messages before absl::InitializeLog() is called are
  written to STDERR`` (printed before the first absl line that gets through);
* ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` (TFLite's own
  logger);
* ``UserWarning: SymbolDatabase.GetPrototype() is deprecated`` (protobuf 4.x,
  on every result mediapipe turns into a proto message).

mediapipe 0.10.14 links absl and TFLite statically and reads no environment
variable for either (measured with a ``getenv`` shim: only ``GLOG_*``, for the
glog it also links), and has no Python call that reaches them, so
``TF_CPP_MIN_LOG_LEVEL``, ``GLOG_minloglevel`` and ``ABSL_MIN_LOG_LEVEL`` leave
those lines alone.  :func:`quiet_native_logs` therefore sets the two
libraries' own thresholds inside the loaded ``_framework_bindings`` module,
as ``absl::SetMinLogLevel(kError)`` and
``tflite::LoggerOptions::SetMinimumLogSeverity(TFLITE_LOG_ERROR)`` would if
they were exported: both variables are found by name in the module's ELF
symbol table, checked (a writable 4-byte object, a plausible current value,
the table matching the loaded image) and left alone when anything does not
match.  Errors (``E...`` lines, TFLite ``ERROR:``) still print.  Set
``LENS_NATIVE_LOGS=1`` to keep every native line (debugging mediapipe).

:func:`progress` is tqdm for library code: on a terminal it is tqdm as usual;
when stderr is a file or a pipe (CI, ``docker logs``, ``make demo | tee``) it
refreshes once every few seconds instead of writing a line per refresh.

Tested in ``tests/test_console.py``.
"""
from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import logging
import os
import struct
import sys
import threading
import warnings

from tqdm import tqdm

log = logging.getLogger(__name__)

BINDINGS = "mediapipe.python._framework_bindings"    # the extension module holding absl and TFLite
DEBUG_ENV = "LENS_NATIVE_LOGS"                         # set (non-empty): leave native log levels alone
# Read by the glog mediapipe also links, when its module loads: errors only.  setdefault: a
# value already in the environment wins (GLOG_minloglevel=0 to see everything).
GLOG_ENV = {"GLOG_minloglevel": "2"}
# (symbol, level to raise it to, the values it can hold): absl::LogSeverityAtLeast kError = 2
# (kInfo 0 .. kFatal 3); tflite::LogSeverity TFLITE_LOG_ERROR = 3 (VERBOSE 0, INFO 1, WARNING 2,
# ERROR 3, SILENT 4; checked against GetSeverityName in mediapipe 0.10.14).
NATIVE_LEVELS = (
    ("_ZN4absl12_GLOBAL__N_113min_log_levelE", 2, range(0, 4)),
    ("_ZN6tflite16logging_internal13MinimalLogger21minimum_log_severity_E", 3, range(0, 5)),
)
# Python warnings known to be noise, by message, category and the module that warns: protobuf
# 4.x deprecations hit by mediapipe's packet getters, not by our code.
KNOWN_WARNINGS = (
    (r"SymbolDatabase\.GetPrototype\(\) is deprecated", UserWarning, r"google\.protobuf\."),
)
# progress(): refresh interval when the bar does not go to a terminal.  5 s: a run of minutes
# leaves a few dozen lines in a log, and a stall still shows within seconds.
PIPE_MININTERVAL = 5.0

_lock = threading.Lock()
_done = {"python": False, "hook": False, "native": False}


def quiet_native_logs() -> None:
    """Quiet mediapipe's native logs and the known protobuf warnings; idempotent, thread-safe.

    Call before mediapipe is imported (importing this module does); called after, it still
    lowers the native levels at once, but the glog setting only applies to a later process.
    """
    with _lock:
        if not _done["python"]:
            for message, category, module in KNOWN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category, module=module)
            if not os.environ.get(DEBUG_ENV):
                for key, value in GLOG_ENV.items():
                    os.environ.setdefault(key, value)
            _done["python"] = True
        if os.environ.get(DEBUG_ENV) or _done["native"]:
            return
        module = sys.modules.get(BINDINGS)
        if module is not None:
            _done["native"] = True
            _lower_native_levels(getattr(module, "__file__", None))
        elif not _done["hook"]:
            sys.meta_path.insert(0, _BindingsFinder())
            _done["hook"] = True


class _BindingsFinder(importlib.abc.MetaPathFinder):
    """Lowers the native levels as soon as mediapipe's extension module has loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != BINDINGS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenLower(spec.loader)
        return spec


class _ThenLower(importlib.abc.Loader):
    """The extension's own loader, then :func:`_lower_native_levels`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        with _lock:
            if not _done["native"]:
                _done["native"] = True
                _lower_native_levels(getattr(module, "__file__", None))


def _lower_native_levels(path: str | None) -> None:
    """Raise absl's and TFLite's thresholds in the loaded extension ``path``; never raises."""
    try:
        found = _elf_objects(path, [name for name, _, _ in NATIVE_LEVELS] + [_INIT])
        base = _load_base(path, found.get(_INIT))
        changed = []
        for name, level, valid in NATIVE_LEVELS:
            value, size, writable = found.get(name, (0, 0, False))
            if base is None or size != 4 or not writable:
                log.debug("native log level %s: not found, left alone", name)
                continue
            cell = ctypes.c_int.from_address(base + value)
            if cell.value not in valid:                  # not the variable we know: touch nothing
                log.debug("native log level %s = %d: unexpected, left alone", name, cell.value)
                continue
            if cell.value < level:
                changed.append(f"{name} {cell.value}->{level}")
                cell.value = level
        log.debug("native log levels: %s", ", ".join(changed) or "unchanged")
    except Exception as exc:                             # noqa: BLE001 -- quiet logs are a nicety
        log.debug("native log levels left alone: %r", exc)


_INIT = "PyInit__framework_bindings"                    # exported: ties the symbol table to the image
_SHF_WRITE, _SHF_ALLOC, _SHT_SYMTAB, _STT_OBJECT, _STT_FUNC = 1, 2, 2, 1, 2


def _elf_objects(path: str | None, names: list[str]) -> dict[str, tuple[int, int, bool]]:
    """``name -> (address, size, in a writable section)`` from a 64-bit little-endian ELF's
    ``.symtab``; ``{}`` for anything else (macOS, Windows, a stripped build)."""
    if not path:
        return {}
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return {}
        shoff, = struct.unpack_from("<Q", head, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sections = [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]
        symtab = next((s for s in sections if s[1] == _SHT_SYMTAB), None)
        if symtab is None:
            return {}
        f.seek(symtab[4])
        symbols = f.read(symtab[5])
        strtab = sections[symtab[6]]
        f.seek(strtab[4])
        strings = f.read(strtab[5])
    wanted: dict[int, str] = {}
    for name in names:
        needle, at = name.encode() + b"\0", 0
        while (at := strings.find(needle, at)) >= 0:     # shared suffixes: every place it ends a string
            wanted[at] = name
            at += 1
    out = {}
    for st_name, info, _other, shndx, value, size in struct.iter_unpack("<IBBHQQ", symbols):
        name = wanted.get(st_name)
        if name is None or (info & 0xF) not in (_STT_OBJECT, _STT_FUNC) or not 0 < shndx < len(sections):
            continue
        flags = sections[shndx][2]
        out[name] = (value, size, (info & 0xF) == _STT_OBJECT and flags & (_SHF_WRITE | _SHF_ALLOC) == 3)
    return out


def _load_base(path: str, init: tuple[int, int, bool] | None) -> int | None:
    """Where the loaded ``path`` starts: its exported init function's address less its offset."""
    if init is None:
        return None
    address = ctypes.cast(getattr(ctypes.CDLL(path), _INIT), ctypes.c_void_p).value
    base = (address or 0) - init[0]
    return base if address and base > 0 and base % 4096 == 0 else None


def progress(iterable=None, **tqdm_kwargs):
    """A tqdm bar for library code: ``progress(items, desc=..., disable=not show)``.

    To a terminal: tqdm's defaults.  To a file or pipe: one refresh every
    :data:`PIPE_MININTERVAL` seconds at most (``TQDM_MININTERVAL`` or an explicit
    ``mininterval`` wins).  ``disable=True``: writes nothing.
    """
    stream = tqdm_kwargs.get("file") or sys.stderr
    if not _is_tty(stream) and "TQDM_MININTERVAL" not in os.environ:
        tqdm_kwargs.setdefault("mininterval", PIPE_MININTERVAL)
    return tqdm(iterable, **tqdm_kwargs)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):                 # no isatty / a closed stream
        return False


quiet_native_logs()
