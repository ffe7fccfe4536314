#!/usr/bin/env python3
"""Writes tests/data/signature_vectors.json: signatures computed with Python's standard
library only (hmac, hashlib, base64), independently of the crate's Rust code.

Run from the repository root:  python3 tests/data/signature_vectors.py
"""
import base64
import hashlib
import hmac
import json
import pathlib

root = pathlib.Path(__file__).resolve().parents[2]


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def fixture(name: str) -> bytes:
    return (root / "tests" / "fixtures" / name).read_bytes()


# Grafana: hex HMAC-SHA256 of the body, or of "<timestamp>:<body>" with a timestamp header.
grafana_secret = "grafana-hmac-s3cret"
grafana_body_file = "40-grafana-v1-webhook-shape.json"
body = fixture(grafana_body_file)
ts = "1764245342"
grafana = {
    "secret": grafana_secret,
    "body_file": grafana_body_file,
    "timestamp": ts,
    "signature": mac(grafana_secret.encode(), body).hex(),
    "signature_with_timestamp": mac(grafana_secret.encode(), ts.encode() + b":" + body).hex(),
    "signature_wrong_secret": mac(b"another-secret", body).hex(),
    "signature_tampered_body": mac(grafana_secret.encode(), body + b" ").hex(),
    "invalid_body": '{"status":"firing"}',
    "signature_invalid_body": mac(grafana_secret.encode(), b'{"status":"firing"}').hex(),
}

# Standard Webhooks: base64 HMAC-SHA256 of "<id>.<timestamp>.<body>", key = base64 after "whsec_".
key = b"standard-webhooks-test-key-32byt"
sw_secret = "whsec_" + base64.b64encode(key).decode()
sw_body_file = "01-am025-firing-single.json"
body = fixture(sw_body_file)
msg_id = "msg_2LJ8t9yQ1z7rGZbF4kXcP0aVwE"
signed = f"{msg_id}.{ts}.".encode() + body
standard = {
    "secret": sw_secret,
    "body_file": sw_body_file,
    "id": msg_id,
    "timestamp": ts,
    "signature": "v1," + base64.b64encode(mac(key, signed)).decode(),
    "signature_wrong_secret": "v1," + base64.b64encode(mac(b"another-key", signed)).decode(),
    "signature_other_id": "v1,"
    + base64.b64encode(mac(key, f"msg_other.{ts}.".encode() + body)).decode(),
}

# The example in the Standard Webhooks specification, recomputed here.
spec_key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
spec = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": "1614265330",
    "body": '{"test": 2432232314}',
    "signature": "v1,"
    + base64.b64encode(
        mac(spec_key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}')
    ).decode(),
}

out = {"grafana": grafana, "standard_webhooks": standard, "standard_webhooks_spec": spec}
path = root / "tests" / "data" / "signature_vectors.json"
path.write_text(json.dumps(out, indent=2) + "\n")
print(f"wrote {path}")
