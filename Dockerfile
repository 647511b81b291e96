FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY config ./config
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 wirewatch && mkdir /data && chown wirewatch /data
COPY --from=build /install /usr/local
USER wirewatch
WORKDIR /data
VOLUME ["/data"]
ENV DATABASE_URL=sqlite+aiosqlite:////data/wirewatch.db \
    WIREWATCH_HTTP__HOST=0.0.0.0 \
    WIREWATCH_HTTP__PORT=8080 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["wirewatch", "run"]
