#!/usr/bin/env python3
"""Prints compose/cluster.host.json: the compose stack's cluster document as the host sees it.

compose/cluster.json names containers (https://arc-local:8600, http://service1-us-east-1:8080), which only
resolve inside the project network. The host reaches the same containers on the loopback ports compose.yaml
publishes. This rewrites every URL of the document whose host:port a service publishes to 127.0.0.1 and
the published port, and leaves everything else as it is, so `failover --cluster compose/cluster.host.json`
on the host sees the same controls and the same apps.

    docker compose config --format json | scripts/host-cluster.py compose/cluster.json > compose/cluster.host.json

scripts/drill.sh checks that the committed file is what this prints.
"""
import json
import sys
from urllib.parse import urlsplit, urlunsplit


def published(config):
    """{(service, container port): host port} for ports published on 127.0.0.1."""
    out = {}
    for name, svc in config.get("services", {}).items():
        for p in svc.get("ports", []):
            if p.get("host_ip") == "127.0.0.1" and p.get("protocol", "tcp") == "tcp" and p.get("published"):
                out[(name, int(p["target"]))] = int(p["published"])
    return out


def rewrite(value, ports):
    if isinstance(value, dict):
        return {k: rewrite(v, ports) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, ports) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        u = urlsplit(value)
        host_port = ports.get((u.hostname, u.port or (443 if u.scheme == "https" else 80)))
        if host_port is not None:
            return urlunsplit((u.scheme, f"127.0.0.1:{host_port}", u.path, u.query, u.fragment))
    return value


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: docker compose config --format json | host-cluster.py compose/cluster.json")
    config = json.load(sys.stdin)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    json.dump(rewrite(doc, published(config)), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
