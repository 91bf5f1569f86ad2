"""A person's environment for the command line: XDG directories in a folder of its
own and the variables the CLI reads (tests/cli and tests/docs)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Home:
    """A person's environment: XDG directories and the variables the CLI reads."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
        for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "BROWSER"):
            keep.pop(name, None)
        return {
            **keep,
            "HOME": str(self.root),
            "XDG_STATE_HOME": str(self.root / "state"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "TOKENSMITH_DEV_IDP_PORT": "0",
            "NO_PROXY": "*",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }

    @property
    def cache_file(self) -> Path:
        return self.root / "state" / "tokensmith" / "token_cache.json"
