"""The webhook signature, and the sink file of the embedded default."""

from __future__ import annotations

import hashlib
import hmac
import json

from services.notify.service import channels


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert channels.signature("s3cret", "1700000000", b"{}") == expected


async def test_sink_appends_one_json_line_per_message(tmp_path):
    sink = channels.SinkChannel(tmp_path / "outbox" / "sms.jsonl")
    for i in range(3):
        outcome = await sink.send(channels.Message(str(i), "login_code", "r", "13800000000", "t", f"body {i}"))
        assert outcome.verdict == "sent"
    lines = [json.loads(line) for line in (tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()]
    assert [line["body"] for line in lines] == ["body 0", "body 1", "body 2"] and lines[0]["to"] == "13800000000"


async def test_the_sink_keeps_a_message_once_per_notification_id_across_restarts(tmp_path):
    path = tmp_path / "outbox" / "sms.jsonl"
    first = channels.SinkChannel(path)
    await first.send(channels.Message("n-1", "broadcast", "r", "13800000001", "t", "b"))
    with path.open("ab") as f:
        f.write(b'{"to": "1380000')  # a line a kill -9 cut short
    after_restart = channels.SinkChannel(path)  # the same file, a new process
    for notification_id in ("n-1", "n-2", "n-2"):
        assert (await after_restart.send(channels.Message(notification_id, "broadcast", "r", "138", "t", "b"))).verdict == "sent"
    ids = []
    for line in path.read_bytes().splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except ValueError:
            continue
    assert ids == ["n-1", "n-2"] and channels.SinkChannel.repeatable
