# syntax=docker/dockerfile:1
# PeerLearn image: Daphne serving HTTP and WebSockets by default; the same image runs `manage.py
# run_periodic` and `manage.py run_worker` (docker-compose.yml). Build: docker build -t peerlearn .

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --require-hashes -r requirements.txt
COPY . .
# Collect static files with the production (hashed, compressed) storage. The values below exist
# only for this build step: production settings refuse to import without them.
RUN DJANGO_ENV=production \
    SECRET_KEY=collectstatic-only-not-a-real-secret-0123456789abcdefghijklmnop \
    REDIS_URL=redis://unused:6379/0 \
    /opt/venv/bin/python manage.py collectstatic --no-input

FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin peerlearn
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build --chown=peerlearn:peerlearn /app /app
ENV PATH=/opt/venv/bin:$PATH DJANGO_ENV=production PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER peerlearn
EXPOSE 8000
# Frames and messages over 128 KiB are refused by Daphne itself (the protocol's limit is 64 KiB).
CMD ["python", "-m", "portal.serve", "-b", "0.0.0.0", "-p", "8000", "--websocket-max-message-size", "131072", "--websocket-max-frame-size", "131072", "portal.asgi:application"]
