# syntax=docker/dockerfile:1
# Build stage: resolve the hash-pinned dependencies into a virtualenv.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.txt /build/
RUN /venv/bin/pip install --require-hashes -r /build/requirements.txt
COPY pyproject.toml README.md /build/
COPY src /build/src
RUN /venv/bin/pip install --no-deps /build

# Runtime stage: the virtualenv only, no compilers, as an unprivileged user. No embedded
# PostgreSQL (an extra that requirements.txt leaves out): set DATABASE_URL.
FROM python:3.11-slim
# The version of pyproject.toml (a test keeps them equal); override with --build-arg.
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="todo-api" \
      org.opencontainers.image.description="Task-management REST API over PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin todo
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2
USER todo
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/ready' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["todo-api", "serve"]
