# One image for ingest, index workers and publish; the command picks the service.
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11.14-slim-bookworm AS runtime
# LightGBM (the related-link reranker) links OpenMP.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# A fixed uid/gid, so docker-compose.yml can name it (`user: "10001:10001"`) and volumes can be chowned.
RUN groupadd --system --gid 10001 kabar \
 && useradd --system --uid 10001 --gid kabar --home-dir /app --shell /usr/sbin/nologin kabar
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "--factory", "services.publish.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
