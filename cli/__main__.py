"""``python -m cli``: the ``lens`` command."""
import sys

from cli.main import main

sys.exit(main())
