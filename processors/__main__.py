"""`python -m processors`: one Faust worker running every agent (see `processors.bootstrap`)."""

from __future__ import annotations

from processors.bootstrap import main

if __name__ == "__main__":
    main()
