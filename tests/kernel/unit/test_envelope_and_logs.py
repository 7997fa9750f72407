import logging
import uuid
from typing import ClassVar

import orjson
import pytest
from pydantic import ValidationError

from cordon import contracts
from cordon.bus.consumer import BACKOFF_S, MAX_DELIVER, nak_delay
from cordon.bus.envelope import Envelope, wrap
from cordon.observability import JsonFormatter, request_id_var, scrub


@contracts.register
class ThingHappened(contracts.Event):
    subject: ClassVar[str] = "things.thing.happened"
    thing_id: uuid.UUID
    label: str


def test_envelope_is_cloudevents_and_round_trips():
    thing = uuid.uuid4()
    envelope = wrap(ThingHappened(thing_id=thing, label="标签"), source="cordon/things", key=str(thing), request_id="r1")
    raw = orjson.loads(envelope.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "things.thing.happened.v1"
    assert raw["source"] == "cordon/things" and raw["subject"] == str(thing)
    assert raw["datacontenttype"] == "application/json" and raw["requestid"] == "r1"
    assert {"id", "time", "data"} <= raw.keys()
    back = Envelope.from_json(envelope.to_json())
    assert back == envelope and back.nats_subject == "things.thing.happened"
    assert back.event() == ThingHappened(thing_id=thing, label="标签")


def test_unknown_type_and_bad_envelopes_are_refused():
    thing = uuid.uuid4()
    envelope = wrap(ThingHappened(thing_id=thing, label="x"), source="s", key="k")
    unknown = envelope.model_copy(update={"type": "things.thing.vanished.v1"})
    with pytest.raises(contracts.UnknownEventType):
        unknown.event()
    with pytest.raises(ValidationError):
        Envelope.from_json(b'{"id": "not-a-uuid"}')


def test_redelivery_backoff_grows_and_fits_max_deliver():
    assert [nak_delay(n) for n in (1, 2, 3)] == BACKOFF_S[:3]
    assert nak_delay(100) == BACKOFF_S[-1]
    assert len(BACKOFF_S) < MAX_DELIVER  # JetStream refuses a backoff list as long as max_deliver


def test_logs_are_json_with_request_id_and_no_personal_data():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "person %s phone %s", ("320413199001011235", "13812341234"), None)
    token = request_id_var.set("req-1")
    try:
        line = orjson.loads(JsonFormatter("registry").format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-1" and line["service"] == "registry"
    assert "320413199001011235" not in line["message"] and "13812341234" not in line["message"]
    fields = logging.LogRecord("x", logging.INFO, __file__, 1, "request", (), None)
    fields.__dict__.update(route="/persons/{person_id}", status=404, note="phone 13812341234")
    line = orjson.loads(JsonFormatter("registry").format(fields))
    assert (line["message"], line["route"], line["status"], line["note"]) == ("request", "/persons/{person_id}", 404, "phone [redacted]")
    assert scrub("order 2024010112345678901 id 11010519491231002X") == "order 2024010112345678901 id [redacted]"  # long digit runs are not ID numbers
