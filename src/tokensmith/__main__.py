"""``python -m tokensmith``: the ``tokensmith`` command line."""

from tokensmith.cli import main

raise SystemExit(main())
