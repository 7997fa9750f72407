"""Impossible dates, numbers, codes and nulls, through the gateway with every service running.

Each answered 500 once (and the 500 closed the gateway's pooled connection, so the next
caller got 502), or was accepted though it cannot be true. Now each is a 4xx
problem+json with a code, and the request after it, on the same gateway, is served.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cordon import pii
from tests.e2e.stack import running_stack
from tests.tokens import token

REGION = "320413"


def id_number(first17: str) -> str:
    return first17 + pii.id_check_character(first17)


def auth(home, role: str, **claims) -> dict[str, str]:
    if role in ("official", "grid_worker"):
        claims = {"regions": [REGION], "username": f"bad-{role}", **claims}
    return {"Authorization": f"Bearer {token(role, home=home, **claims)}"}


@pytest.mark.slow
async def test_each_impossible_input_is_a_4xx_problem_and_the_next_request_is_served(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        grid, official, admin = auth(home, "grid_worker"), auth(home, "official"), auth(home, "admin")
        lab, partner = auth(home, "lab"), auth(home, "partner", sub="partner-bad")
        resident = auth(home, "resident", phone_index="0" * 64)
        person = await gw.post("/api/v1/persons", headers=grid, json={
            "id_number": id_number("32041319900101001"), "name": "张三", "phone": "13800000001", "region_code": REGION})
        assert person.status_code == 201, person.text
        person_id = person.json()["id"]
        today = date.today().isoformat()
        gathering = {"title": "会议", "kind": "meeting", "organizer": {"name": "李四", "phone": "13800000002"},
                     "venue": {"address": "某路1号", "region_code": REGION},
                     "starts_at": f"{today}T09:00:00+08:00", "ends_at": f"{today}T11:00:00+08:00", "expected_attendees": 10}
        sample = {"barcode": "B-1", "id_number": id_number("32041319900101002"), "site": "site-1",
                  "collected_at": f"{today}T08:00:00+08:00"}
        report = {"region_code": REGION, "zero": False,
                  "counts": {"returnees_screened": 1, "under_control": 0, "fever": 0, "tests_taken": 1}}
        travel_line = {"record_id": "r-1", "phone": "13800000001", "region_code": "420106",
                       "first_seen": "0001-01-01T00:00:00+14:00", "last_seen": today}

        cases = [
            # The fourteen that answered 500 (the two cursors are the paging module's: tested with it).
            ("GET", "/api/v1/audit", admin, {"params": {"from": "0001-01-01"}}),
            ("GET", "/api/v1/daily-reports/draft", grid, {"params": {"region_code": REGION, "date": "9999-12-31"}}),
            ("GET", "/api/v1/gatherings", official, {"params": {"to": "9999-12-31"}}),
            ("PATCH", f"/api/v1/persons/{person_id}", grid, {"json": {"name": None}}),
            ("PATCH", f"/api/v1/persons/{person_id}", grid, {"json": {"region_code": None}}),
            ("PATCH", f"/api/v1/persons/{person_id}", grid, {"json": {"language": None}}),
            ("POST", "/api/v1/persons", grid, {"json": {"id_number": id_number("32041319900101003"), "name": "王五",
                                                         "region_code": REGION, "tags": ["inbound"], "entry_date": "9999-12-31"}}),
            ("POST", f"/api/v1/persons/{person_id}/measures", official, {"json": {"rule": "close_contact", "exposure_date": "9999-12-31"}}),
            ("POST", f"/api/v1/persons/{person_id}/measures", official, {"json": {
                "kind": "home_quarantine", "starts_on": "9999-12-31", "days": 7, "reason": "测试"}}),
            ("PUT", "/api/v1/risk-areas/420106", official | admin, {"json": {"level": "high", "effective_from": "0001-01-01T00:00:00"}}),
            ("POST", "/api/v1/gatherings", grid, {"json": {**gathering, "starts_at": "0001-01-01T00:00:00+14:00"}}),
            ("POST", "/api/v1/samples", lab, {"json": {**sample, "collected_at": "0001-01-01T00:00:00+14:00"}}),
            ("POST", "/api/v1/results", lab, {"json": {"barcode": "B-1", "result": "negative", "lab": "lab-1",
                                                       "tested_at": "9999-12-31T23:59:59-14:00"}}),
            ("POST", "/api/v1/travel-records/batch", partner, {
                "content": (__import__("orjson").dumps(travel_line) + b"\n"), "headers": {"content-type": "application/x-ndjson"}}),
            # Travel outside the policy's window of today (14 days by default), and in the year 9999.
            ("POST", "/api/v1/me/travel-declarations", resident, {"json": {
                "region_code": "420106", "first_seen": (date.today() - timedelta(days=40)).isoformat(),
                "last_seen": (date.today() - timedelta(days=30)).isoformat()}}),
            ("POST", "/api/v1/me/travel-declarations", resident, {"json": {
                "region_code": "420106", "first_seen": today, "last_seen": "9999-12-31"}}),
            # Accepted though impossible.
            ("POST", "/api/v1/persons", grid, {"json": {"id_number": id_number("32041319901301004"), "name": "月份", "region_code": REGION}}),
            ("POST", "/api/v1/persons", grid, {"json": {"id_number": id_number("32041320990101005"), "name": "未来", "region_code": REGION}}),
            ("POST", "/api/v1/persons", grid, {"json": {"id_number": id_number("32041319900101006"), "name": "无地", "region_code": "999999"}}),
            ("POST", "/api/v1/daily-reports", grid, {"json": {**report, "date": "2099-01-01"}}),
            ("POST", "/api/v1/daily-reports", grid, {"json": {**report, "date": "1900-01-01"}}),
            ("POST", "/api/v1/daily-reports", grid, {"json": {**report, "date": today, "counts": {**report["counts"], "fever": 10**30}}}),
            ("POST", "/api/v1/gatherings", grid, {"json": {**gathering, "starts_at": "9000-01-01T09:00:00+08:00",
                                                           "ends_at": "9000-01-01T11:00:00+08:00"}}),
        ]
        failures = []
        for method, path, headers, kwargs in cases:
            extra = kwargs.pop("headers", {})
            response = await gw.request(method, path, headers={**headers, **extra}, **kwargs)
            where = f"{method} {path} {kwargs}"
            if path.endswith("/batch"):  # a batch answers 200 and names the bad line
                body = response.json()
                if response.status_code != 200 or [r["code"] for r in body["rejected"]] != ["date_out_of_range"]:
                    failures.append(f"{where}: {response.status_code} {response.text[:300]}")
            elif not 400 <= response.status_code < 500 or not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{where}: {response.status_code} {response.text[:300]}")
            elif "code" not in response.json():
                failures.append(f"{where}: no code in {response.text[:300]}")
            after = await gw.get(f"/api/v1/persons/{person_id}", headers=grid)
            if after.status_code != 200:
                failures.append(f"after {where}: the next request got {after.status_code}")
        print(f"{len(cases)} impossible inputs sent, {len(failures)} not refused cleanly")
        assert not failures, "\n".join(failures)
        # The person was left as it was, and nothing impossible was stored.
        read = (await gw.get(f"/api/v1/persons/{person_id}", headers=grid)).json()
        assert read["name"] == "张三" and read["region_code"] == REGION and read["language"] == "zh"
