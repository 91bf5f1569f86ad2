"""``python -m tokensmith.brokerd``: the open broker (see :mod:`.command`)."""

from __future__ import annotations

from tokensmith.brokerd.command import main

raise SystemExit(main())
