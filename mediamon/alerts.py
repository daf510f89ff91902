"""`mediamon alerts`: Prefect automations that POST a monitor's new matches to a webhook (docs/alerts.md).

An alert is an automation named NAME, tagged `mediamon-alert`: an event trigger on the monitor's
`mediamon.monitor.matched` events (pipeline/events.py) and a send-notification action through a Custom Webhook
block named `mediamon-alert-NAME`, whose request body is the JSON the action renders from the event. They live on
the Prefect server PREFECT_API_URL names, which evaluates them: alerts need a server that keeps running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from pipeline.events import COUNT_LABEL, COUNT_WIDTH, MONITOR_MATCHED, at_least_patterns, monitor_resource_id

TAG = "mediamon-alert"
BLOCK_PREFIX = "mediamon-alert-"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # a Prefect block name, after the prefix
SUBJECT = "{{ event.payload.new_articles }} new article(s) matched {{ event.payload.monitor }}"
# The JSON body the server renders from the event for each notification: the payload's fields, each through
# `tojson`, so titles with quotes or markup stay valid JSON. Article text is never in an event.
PAYLOAD_FIELDS = (
    "monitor",
    "new_articles",
    "new_stories",
    "new_outlets",
    "outlets",
    "articles",
    "more_articles",
    "run_id",
    "flow",
    "backfill",
    "mode",
)


class AlertError(ValueError):
    """An alert that cannot be made, found or reached; the message says what to do."""


@dataclass(frozen=True)
class Alert:
    name: str
    monitor: str
    webhook: str
    min_articles: int
    enabled: bool
    automation_id: UUID | None = None


def webhook_body(name: str) -> str:
    """The Jinja template of the webhook's JSON body."""
    fields = ", ".join(f'"{key}": {{{{ event.payload.{key} | tojson }}}}' for key in PAYLOAD_FIELDS)
    return f'{{"alert": "{name}", {fields}, "event_id": "{{{{ event.id }}}}", "occurred": "{{{{ event.occurred }}}}"}}'


def trigger_match(monitor: str, min_articles: int) -> dict[str, str | list[str]]:
    """The resource labels the trigger matches: the monitor, and at least `min_articles` new articles."""
    match: dict[str, str | list[str]] = {"prefect.resource.id": monitor_resource_id(monitor)}
    if min_articles > 1:
        match[COUNT_LABEL] = at_least_patterns(min_articles)
    return match


def min_articles_of(match: dict) -> int:
    """`min_articles` read back from a trigger's labels: the first pattern is the threshold's own label."""
    patterns = match.get(COUNT_LABEL)
    if not patterns:
        return 1
    first = patterns if isinstance(patterns, str) else patterns[0]
    return int(first) if first.isdigit() and len(first) == COUNT_WIDTH else 1


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AlertError(f"alert name {name!r}: use lower-case letters, digits and dashes (at most 63)")
    return name


def check_server() -> str:
    """The API URL of the Prefect server alerts live on, or AlertError saying to start one."""
    import httpx
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    if not api_url:
        raise AlertError(
            "alerts live on a Prefect server that keeps running: start one (`make server`) and set"
            " PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    try:
        healthy = httpx.get(f"{api_url.rstrip('/')}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        healthy = False
    if not healthy:
        raise AlertError(f"no Prefect server answers at PREFECT_API_URL={api_url}: start one (`make server`)")
    return api_url


def webhook_block(name: str, webhook: str, allow_private: bool = False):
    """The Custom Webhook block an alert sends through: a POST of the rendered body as JSON."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name=f"mediamon alert {name}",
        url=webhook,
        method="POST",
        headers={"Content-Type": "application/json"},
        form_data="{{body}}",  # the body as rendered: the JSON of webhook_body()
        allow_private_urls=allow_private,  # off: loopback, private and link-local addresses are refused
    )


def create_alert(name: str, monitor: str, webhook: str, min_articles: int = 1, allow_private: bool = False) -> bool:
    """Create the alert, or update the one of that name; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    check_name(name)
    if not 1 <= min_articles < 10**COUNT_WIDTH:
        raise AlertError(f"--min-articles must be from 1 to {10**COUNT_WIDTH - 1:,}, got {min_articles:,}")
    if not re.match(r"https?://[^/\s]+", webhook):
        raise AlertError(f"webhook {webhook!r}: expected an http(s) URL")
    check_server()
    block_id = webhook_block(name, webhook, allow_private).save(f"{BLOCK_PREFIX}{name}", overwrite=True)
    automation = AutomationCore(
        name=name,
        description=f"mediamon: POST new matches of monitor {monitor} to a webhook (mediamon alerts)",
        tags=[TAG],
        trigger=EventTrigger(
            expect={MONITOR_MATCHED},
            match=trigger_match(monitor, min_articles),
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=webhook_body(name))],
    )
    with get_client(sync_client=True) as client:
        existing = [a for a in client.read_automations_by_name(name) if TAG in a.tags]
        if existing:
            client.update_automation(existing[0].id, automation)
            return False
        client.create_automation(automation)
        return True


def list_alerts() -> list[Alert]:
    """The server's alerts (automations tagged mediamon-alert), by name."""
    from prefect.client.orchestration import get_client

    check_server()
    alerts = []
    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            if TAG not in automation.tags:
                continue
            match = automation.trigger.match.root if hasattr(automation.trigger, "match") else {}
            resource = match.get("prefect.resource.id", "")
            resource = resource if isinstance(resource, str) else resource[0]
            webhook = "(block missing)"
            for action in automation.actions:
                block_id = getattr(action, "block_document_id", None)
                if block_id is not None:
                    try:
                        document = client.read_block_document(block_id, include_secrets=False)
                        webhook = str(document.data.get("url", webhook))
                    except Exception:  # noqa: BLE001 - a deleted block is shown as missing
                        pass
            alerts.append(
                Alert(
                    automation.name,
                    resource.removeprefix(monitor_resource_id("")),
                    webhook,
                    min_articles_of(match),
                    automation.enabled,
                    automation.id,
                )
            )
    return sorted(alerts, key=lambda a: a.name)


def delete_alert(name: str) -> None:
    """Delete the alert's automation and its webhook block; AlertError when there is no such alert."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    check_name(name)
    check_server()
    with get_client(sync_client=True) as client:
        found = [a for a in client.read_automations_by_name(name) if TAG in a.tags]
        try:
            block = client.read_block_document_by_name(f"{BLOCK_PREFIX}{name}", "custom-webhook")
        except ObjectNotFound:
            block = None
        if not found and block is None:
            raise AlertError(f"no alert {name!r}: `mediamon alerts list` shows them")
        for automation in found:
            client.delete_automation(automation.id)
        if block is not None:
            client.delete_block_document(block.id)
