# kabar-backends.vcl for docker-compose.yml: publish and ingest by service name. Included by kabar.vcl.

backend publish {
    .host = "publish";
    .port = "8000";
    .probe = publish_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 15s;
}

backend ingest {
    .host = "ingest";
    .port = "8000";
    .connect_timeout = 1s;
    .first_byte_timeout = 120s;
}

# What kabar.vcl sends readers and the newsroom API to.
sub kabar_to_publish {
    set req.backend_hint = publish;
}

sub kabar_to_ingest {
    set req.backend_hint = ingest;
}

# The workers purge over the compose network, on the `purge` listener (-a purge=:6091), which compose
# does not publish. Readers reach only the `http` listener, so even a reader whose address looks private
# (Docker's port proxy makes every reader look like the bridge gateway) cannot purge.
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
