"""The local run: embedded broker and PostgreSQL, topics, migrations, supervised processes.

`python -m launcher` is `make run`; `launcher.stack.LocalStack` is the same thing as a
library for the integration tests.
"""
