"""The one way the job's Lambdas notify the stack's topic (the tracker at a job's end, the launcher
when a stack delete stops the job): subject rules and the attributes subscription filters match on."""

from __future__ import annotations

from . import clients
from .contract import NotificationAttribute

# SNS: "less than 100 characters", no line breaks or control characters.
SUBJECT_MAX_CHARS = 99


def notification_subject(job_name: str, status: str) -> str:
    """'RFT job <name> <status>': printable ASCII, at most 100 characters (SNS rules)."""

    def ascii_only(text: str) -> str:
        return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)

    name = ascii_only(job_name)
    tail = f" {ascii_only(status)}"[:40]
    room = SUBJECT_MAX_CHARS - len("RFT job ") - len(tail)
    if len(name) > room:
        name = name[: room - 3] + "..."
    return f"RFT job {name}{tail}"


def publish(topic_arn: str, region: str, *, job_name: str, status: str, variant: str, message: str) -> None:
    """One notification on the stack's topic."""
    clients.aws_client("sns", region).publish(
        TopicArn=topic_arn,
        Subject=notification_subject(job_name, status),
        Message=message,
        MessageAttributes={
            NotificationAttribute.STATUS: {"DataType": "String", "StringValue": status},
            NotificationAttribute.VARIANT: {"DataType": "String", "StringValue": variant},
        },
    )
