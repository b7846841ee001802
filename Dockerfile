# One image for the ingress, the processors, the sandbox and the one-shot setup jobs.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin app \
    && install -d -o app -g app /var/lib/taxi
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
# The code stays root's and read-only to the processes; only their data dir is writable.
COPY . .
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    APP_DATADIR=/var/lib/taxi/faust
USER app
CMD ["python", "-m", "ingress"]
