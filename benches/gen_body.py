#!/usr/bin/env python3
"""Write deterministic Alertmanager webhook bodies for benches/http.sh.

Usage: gen_body.py OUT_DIR [N ...]   (default N: 1 100 1000) -> OUT_DIR/alerts-N.json

Shaped like tests/fixtures: compact JSON as Alertmanager writes it (Go's encoder, so `&`, `<`, `>`
are `\\u0026`, `\\u003c`, `\\u003e`, other non-ASCII raw UTF-8), 6-10 labels and 2-3 annotations
per alert, a generatorURL with `\\u0026`, some non-ASCII text and `\\n` in descriptions, every
severity (so every log level), about one alert in five resolved.
"""

import hashlib
import json
import random
import sys
from pathlib import Path

NAMES = ["HSIGPUMemoryHigh", "HSIPipelineStalled", "HSIRedisDown", "HSIDiskAlmostFull", "HSICameraOffline"]
COMPONENTS = ["gpu", "pipeline", "redis", "database", "camera"]
SEVERITIES = ["critical", "warning", "high", "info"]
SERVICES = ["backend", "ai", "yolo26", "nemotron"]
CAMERAS = ["front_door", "backyard", "garage", "entrée_nord"]


def go_json(value) -> str:
    """Compact JSON escaped the way Go's encoding/json escapes it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def alert(rng: random.Random, i: int) -> dict:
    name = NAMES[i % len(NAMES)]
    component = COMPONENTS[i % len(COMPONENTS)]
    labels = {
        "alertname": name,
        "severity": SEVERITIES[i % len(SEVERITIES)],
        "component": component,
        "instance": f"node-{i % 7}:9400",
        "job": f"{component}-exporter",
        "service": SERVICES[i % len(SERVICES)],
    }
    for key in ["camera_id", "gpu", "namespace", "note"][: rng.randint(0, 4)]:
        labels[key] = {
            "camera_id": CAMERAS[i % len(CAMERAS)],
            "gpu": str(i % 2),
            "namespace": "hsi",
            "note": "ünïcødé ✓ <b>&amp;</b>",
        }[key]
    value = rng.randint(900, 999) / 10
    annotations = {
        "summary": f"{name} on {labels['instance']}",
        "description": f"{component} value is {value}% for 5 minutes"
        + ("\nrunbook: check \"nvidia-smi\" → restart" if i % 3 == 0 else ""),
    }
    if i % 2 == 0:
        annotations["runbook_url"] = f"https://runbooks.example/{name}?component={component}&x=1"
    resolved = i % 5 == 4
    second = rng.randint(0, 59)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": f"2026-11-27T12:{i % 60:02}:{second:02}.{rng.randint(0, 999):03}Z",
        "endsAt": f"2026-11-27T13:{i % 60:02}:{second:02}.000Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22{component}%22%7D+%3D%3D+0&g0.tab=1",
        "fingerprint": hashlib.sha256(go_json(labels).encode()).hexdigest()[:16],
    }


def body(n: int) -> str:
    rng = random.Random(n)
    alerts = [alert(rng, i) for i in range(n)]
    common = {"alertname": alerts[0]["labels"]["alertname"]} if n == 1 else {}
    return go_json(
        {
            "receiver": "hsi-backend",
            "status": "firing",
            "alerts": alerts,
            "groupLabels": common,
            "commonLabels": common,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": "{}:{alertname=\"" + alerts[0]["labels"]["alertname"] + "\"}",
            "truncatedAlerts": 0,
        }
    ) + "\n"


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for n in [int(a) for a in sys.argv[2:]] or [1, 100, 1000]:
        (out / f"alerts-{n}.json").write_text(body(n), encoding="utf-8")


if __name__ == "__main__":
    main()
