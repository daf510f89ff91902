# mediamon: the ingest CLI and flows in one image. Build: docker build -t mediamon .
FROM python:3.11-slim

WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    MEDIAMON_DB=/data/mediamon.duckdb

COPY pyproject.toml constraints.txt README.md ./
COPY extractors ./extractors
COPY flows ./flows
COPY warehouse ./warehouse
COPY mediamon ./mediamon
RUN pip install -c constraints.txt .
COPY seeds ./seeds
COPY sources.example.toml monitors.example.toml ./

VOLUME ["/data"]
ENTRYPOINT ["mediamon"]
CMD ["ingest", "seeds"]
