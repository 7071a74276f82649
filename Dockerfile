# One image for every Suxing process. Pick the process with the command:
#
#   python -m services.pledges | services.reviews | services.scoring   # one service (uvicorn)
#   suxing migrate SERVICE          # Alembic upgrade of SUXING_DATABASE_URL (or --database-url)
#   suxing topics ensure --broker kafka:9092
#
# The default command only prints the CLI's help, so starting the image by mistake changes
# nothing. Settings come from SUXING_* environment variables (shared/settings.py).

# Pinned Python minor and patch release on a pinned Debian release, so a rebuild does not
# silently change the interpreter.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Containers must listen on every interface; the settings default is loopback.
    SUXING_HOST=0.0.0.0 \
    # Services create their data directory at start: keep it outside the read-only code.
    SUXING_DATA_DIR=/var/lib/suxing

# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 suxing \
    && useradd --system --uid 10001 --gid suxing --home-dir /app --shell /usr/sbin/nologin suxing \
    && mkdir -p /var/lib/suxing \
    && chown suxing:suxing /var/lib/suxing

WORKDIR /app

# Dependencies first (their own layer, rebuilt only when the pins change). constraints.txt
# pins every runtime package; dev tools (pytest, ruff, mypy) are in the `dev` extra, which
# is not installed here.
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY suxing_cli ./suxing_cli
# Editable install: each service's Alembic scripts (services/<name>/migrations) are plain
# folders, not package data, and shared/migrations.py finds them next to the source. An
# editable install keeps the code where it is, in /app, and still puts `suxing` on PATH.
RUN pip install -c constraints.txt -e . \
    && python -c "import services.pledges.app, services.reviews.app, services.scoring.app"

USER 10001:10001

EXPOSE 8101 8102 8103

CMD ["suxing", "--help"]
