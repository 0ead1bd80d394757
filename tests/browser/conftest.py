"""Browser tests reuse the publish corpus fixtures (real Elasticsearch, real publish process)."""

from tests.integration.publish.conftest import corpus, publish, publish_url  # noqa: F401
