"""`python -m ingress`: one ingress instance (see `ingress.bootstrap`)."""

from __future__ import annotations

from ingress.bootstrap import main

if __name__ == "__main__":
    main()
