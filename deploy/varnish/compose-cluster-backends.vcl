# kabar-backends.vcl for docker-compose.cluster.yml: two replicas each of publish and ingest, by service name,
# each in a round-robin director. Included by kabar.vcl (the image keeps this file in /etc/varnish/cluster,
# which the override puts first on vcl_path).
#
# Varnish resolves a backend's name once, when it loads the VCL, and refuses a name with several addresses:
# so one backend per replica service (ingest, ingest-2, ...), never `--scale publish=2`. A replica re-created
# with a new address needs the VCL loaded again (`docker compose restart varnish`); until then its probe is
# sick and the director leaves it out. Adding a replica: a backend here, `add_backend` below, and the service
# in the override.
#
# The directors skip a backend whose probe is sick. std.healthy(req.backend_hint) in kabar.vcl asks the
# director, which is healthy while any of its backends is: grace stays short while one publish answers.

import directors;

backend publish_1 {
    .host = "publish";
    .port = "8000";
    .probe = publish_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 15s;
}

backend publish_2 {
    .host = "publish-2";
    .port = "8000";
    .probe = publish_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 15s;
}

# Ingest's liveness (the process answers; its /readyz checks Redis and RabbitMQ, which both replicas share).
probe ingest_health {
    .url = "/healthz";
    .interval = 2s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

backend ingest_1 {
    .host = "ingest";
    .port = "8000";
    .probe = ingest_health;
    .connect_timeout = 1s;
    # A bulk request of 500 articles waits for RabbitMQ's confirms.
    .first_byte_timeout = 120s;
}

backend ingest_2 {
    .host = "ingest-2";
    .port = "8000";
    .probe = ingest_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 120s;
}

sub vcl_init {
    new publish_pool = directors.round_robin();
    publish_pool.add_backend(publish_1);
    publish_pool.add_backend(publish_2);
    new ingest_pool = directors.round_robin();
    ingest_pool.add_backend(ingest_1);
    ingest_pool.add_backend(ingest_2);
}

# What kabar.vcl sends readers and the newsroom API to.
sub kabar_to_publish {
    set req.backend_hint = publish_pool.backend();
}

sub kabar_to_ingest {
    set req.backend_hint = ingest_pool.backend();
}

# As compose-backends.vcl (tests/ops/test_compose_cluster.py keeps the two the same): the workers purge over
# the compose network, on the `purge` listener (-a purge=:6091), which compose does not publish. Readers reach
# only the `http` listener, so even a reader whose address looks private (Docker's port proxy makes every
# reader look like the bridge gateway) cannot purge.
acl purgers {
    "10.0.0.0"/8;
    "172.16.0.0"/12;
    "192.168.0.0"/16;
}

sub kabar_may_purge {
    if (local.socket != "purge" || client.ip !~ purgers) {
        return (synth(403, "Forbidden"));
    }
}
