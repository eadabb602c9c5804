"""The ``lens`` command line: every package's commands under one parser.

Commands come from each package's ``commands`` module (``add_parsers(sub) ->
{name: handler}``, a handler being a function or ``"module:function"``):
:mod:`cli.commands` (``models``, ``synth``, ``index``, ``query``, ``detect``,
``train-categories``, ``demo``; handlers in :mod:`cli.handlers`), :mod:`detection.commands`
(``train-detector``, ``export-detector``, ``coco-from-synth``), :mod:`lens.datasets.commands`
(``data``),
:mod:`lens.labeling.commands` (``label-crops``), :mod:`lens.evaluation.commands`
(``eval ...``) and :mod:`web.commands` (``serve``).
Global options: ``--config NAME|PATH`` and ``--set key=value`` (repeatable)
for any config key.  Every error is one line and a non-zero exit.

This is the application layer: it may import every package; none imports it.
Tested in ``tests/test_cli.py``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from cli import commands as core_commands
from detection import commands as detection_commands
from lens.config import load_config
from lens.datasets import commands as dataset_commands
from lens.evaluation import commands as evaluation_commands
from lens.labeling import commands as labeling_commands
from web import commands as web_commands

log = logging.getLogger("lens")
PACKAGES = (core_commands, dataset_commands, detection_commands, labeling_commands, evaluation_commands,
            web_commands)


def parser() -> tuple[argparse.ArgumentParser, dict]:
    """The ``lens`` parser and ``{command: handler}``."""
    p = argparse.ArgumentParser(prog="lens", description="Lens: visual discovery over your catalog")
    p.add_argument("-c", "--config", default=os.environ.get("LENS_CONFIG", "default"),
                   help="config name in configs/ or a YAML path (default: default)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set query.k=50 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    handlers: dict = {}
    for package in PACKAGES:
        handlers.update(package.add_parsers(sub))
    return p, handlers


def resolve(handler):
    """A handler, importing ``"module:function"`` ones now: their modules load torch, FAISS or
    mediapipe, so only the command that runs pays for them."""
    if callable(handler):
        return handler
    module, _, function = handler.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    p, handlers = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config, args.overrides)
        return resolve(handlers[args.command])(args, config)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"lens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lens: interrupted; everything acknowledged so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
