FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY handlers handlers
COPY storage storage
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --create-home --home-dir /data omnigate
# Not root; /data is writable for the embedded default (the SQLite file omnigate.db).
USER omnigate
WORKDIR /data
ENV OMNIGATE_HOST=0.0.0.0 OMNIGATE_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
CMD ["omnigate", "serve"]
