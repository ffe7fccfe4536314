"""The original stack, for benches/http.sh: FastAPI + pydantic v2 + uvicorn.

A faithful implementation of POST /api/webhooks/alerts as /work/shared/spec/webhooks-api.md
documents it: pydantic v2 models of the Alertmanager payload (422 on anything else), one log line
per alert at the documented level and format, the documented 200 summary, and the
`infrastructure_alert` events handed to a broadcaster in a background task after the answer.
The broadcaster is a no-op (no WebSocket clients): the events are still built, as they would be
in production, so the work per alert matches the crate's.

Run: uvicorn app:app --app-dir benches/fastapi --host 127.0.0.1 --port 8000 --no-access-log
Logs go to stdout at INFO (the harness redirects them to a file).
"""

import logging
import sys
from datetime import datetime, timezone
from enum import Enum

from fastapi import APIRouter, BackgroundTasks, FastAPI
from pydantic import BaseModel, Field

logging.basicConfig(
    stream=sys.stdout,
    level=logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
logger = logging.getLogger("webhooks")


class AlertStatus(str, Enum):
    """Status of a group or of one alert."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(BaseModel):
    """One alert of the notification."""

    status: AlertStatus
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str


class WebhookPayload(BaseModel):
    """The Alertmanager webhook body (version 4)."""

    version: str = "4"
    groupKey: str
    truncatedAlerts: int = 0
    status: AlertStatus
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[Alert]


class WebhookResponse(BaseModel):
    """The 200 summary."""

    status: str
    received: int
    processed: int
    message: str


class NoopBroadcaster:
    """Stands in for the WebSocket broadcaster when no client is connected."""

    async def broadcast(self, event: dict) -> None:
        """Accept one event and drop it."""


broadcaster = NoopBroadcaster()


def log_alert(alert: Alert) -> None:
    """Log one alert at the level the documentation gives for its status and severity."""
    name = alert.labels.get("alertname", "unknown")
    severity = alert.labels.get("severity", "info")
    component = alert.labels.get("component", "unknown")
    if alert.status is AlertStatus.RESOLVED:
        since = alert.startsAt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        logger.info(
            "[ALERT RESOLVED] %s (%s) - component=%s: resolved after firing since %s",
            name, severity, component, since,
        )
        return
    description = alert.annotations.get("description", alert.annotations.get("summary", ""))
    level = {"critical": logging.ERROR, "warning": logging.WARNING, "high": logging.WARNING}
    logger.log(
        level.get(severity, logging.INFO),
        "[ALERT FIRING] %s (%s) - component=%s: %s",
        name, severity, component, description,
    )


async def broadcast_alerts(payload: WebhookPayload) -> None:
    """Send one `infrastructure_alert` event per alert, in body order (background task)."""
    for alert in payload.alerts:
        event = {
            "type": "infrastructure_alert",
            "data": {
                "alertname": alert.labels.get("alertname", "unknown"),
                "status": alert.status.value,
                "severity": alert.labels.get("severity", "info"),
                "component": alert.labels.get("component", "unknown"),
                "summary": alert.annotations.get("summary", ""),
                "description": alert.annotations.get("description", ""),
                "started_at": alert.startsAt.isoformat(),
                "fingerprint": alert.fingerprint,
                "receiver": payload.receiver,
            },
        }
        try:
            await broadcaster.broadcast(event)
        except Exception as error:  # a failing broadcast never fails the webhook
            logger.warning("Failed to broadcast infrastructure alert: %s", error)


router = APIRouter(prefix="/api/webhooks")


@router.post("/alerts", response_model=WebhookResponse)
async def receive_alerts(payload: WebhookPayload, tasks: BackgroundTasks) -> WebhookResponse:
    """Log every alert, schedule the broadcast, answer the summary."""
    for alert in payload.alerts:
        log_alert(alert)
    tasks.add_task(broadcast_alerts, payload)
    count = len(payload.alerts)
    return WebhookResponse(
        status="ok",
        received=count,
        processed=count,
        message=f"Processed {count} alert(s) from {payload.receiver}",
    )


app = FastAPI()
app.include_router(router)
