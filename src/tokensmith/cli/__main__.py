"""``python -m tokensmith.cli``: the ``tokensmith`` command line."""

from tokensmith.cli import main

raise SystemExit(main())
