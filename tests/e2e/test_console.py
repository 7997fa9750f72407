"""The command office's page in a real browser: headless Chromium (the system's, driven by Playwright)
signs in at GET /console, opens the overview, a list and a person file, and checks what a person sees
against the API: the counts equal GET /stats/overview, the names are masked until an official reveals
one (and the reveal is audited), the charts are drawn on their canvases.

Skipped, with the reason printed, where no Chromium or no Playwright is installed. With
CORDON_SCREENSHOTS=<dir> (``make console-shots``) each page is also saved there as a PNG.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import nats
import pytest

from cordon import pii
from cordon.bus import streams
from cordon.bus.envelope import wrap
from cordon.clock import CHINA, local_date, utcnow
from cordon.contracts import testing
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import id_number, token
from tests.serving import eventually, settled

CHROMIUM = os.environ.get("CORDON_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PLACES = ("code,name\n320413100,金城镇\n320413101,尧塘街道\n320413100201,东门村\n320413100202,西门村\n"
          "320413101201,尧塘村\n").encode()
NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵丽", "黄磊", "周敏", "吴刚", "欧阳娜娜", "孙悦"]
VILLAGES = ["320413100201", "320413100202", "320413101201"]


def _browser_or_skip():
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CORDON_CHROMIUM)")
    return async_playwright


async def _shot(page, name: str) -> None:
    folder = os.environ.get("CORDON_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def _seed(cordon, nats_url: str) -> tuple[dict, list[dict]]:
    gw = cordon.gateway
    admin = await token(gw, "admin", ADMIN_PASSWORD)  # the gateway creates the first admin as it starts
    imported = await gw.post("/api/v1/regions/import", content=PLACES, headers={**admin, "content-type": "text/csv"})
    assert imported.status_code == 200, imported.text
    people = []
    for i, name in enumerate(NAMES):
        body = {"id_number": id_number(i + 1), "name": name, "phone": f"1390000{i:04d}", "region_code": VILLAGES[i % 3]}
        response = await gw.post("/api/v1/persons", json=body, headers=admin)
        assert response.status_code == 201, response.text
        people.append({**response.json(), "_id_number": body["id_number"]})
    today = local_date(utcnow())
    for person, kind in zip(people[:4], ["home_quarantine", "home_quarantine", "home_health_monitoring", "centralized_quarantine"]):
        response = await gw.post(f"/api/v1/persons/{person['id']}/measures", headers=admin,
                                 json={"kind": kind, "starts_on": today.isoformat(), "days": 7, "reason": "密接排查"})
        assert response.status_code == 201, response.text
    for village in VILLAGES:
        assert (await gw.put(f"/api/v1/regions/{village}/roster", json={"grid_worker": "g1"}, headers=admin)).status_code == 200
    report = await gw.post("/api/v1/daily-reports", json={"region_code": VILLAGES[0], "date": today.isoformat(), "zero": True}, headers=admin)
    assert report.status_code == 201, report.text
    # Two positives from the lab, yesterday and today (as testing announces them).
    s = cordon.registry.app_settings
    vault = pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key)
    nc = await nats.connect(nats_url)
    try:
        await streams.declare(nc.jetstream())
        for person, days_ago in ((people[5], 1), (people[6], 0)):
            at = utcnow() - timedelta(days=days_ago)
            event = testing.ResultRecorded(
                sample_id=uuid.uuid4(), barcode=f"B{uuid.uuid4().hex[:8]}", person_id=person["id"],
                id_number_index=vault.index("id_number", person["_id_number"]), region_code=person["region_code"],
                outcome="positive", collected_at=at - timedelta(hours=6), tested_at=at, lab="lab-1",
            )
            envelope = wrap(event, source="cordon/test", key=str(person["id"]))
            await nc.jetstream().publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()
    await settled(nats_url, *cordon.services, timeout=60)
    # A village meeting filed for approval, where two of the people checked in.
    starts = utcnow().astimezone(CHINA).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    gathering = await gw.post("/api/v1/gatherings", headers=admin, json={
        "title": "东门村村民议事会", "kind": "meeting", "organizer": {"name": "赵主任", "phone": "13600001111"},
        "venue": {"address": "东门村村委会", "region_code": VILLAGES[0]}, "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(), "expected_attendees": 60,
        "prevention_plan": "入场测温、查验健康码，间隔就座", "emergency_plan": "发现发热人员就地隔离并报告"})
    assert gathering.status_code == 201, gathering.text
    for person in people[:2]:
        checked = await gw.post(f"/api/v1/gatherings/{gathering.json()['id']}/check-ins", json={"id_number": person["_id_number"]},
                                headers=admin)
        assert checked.status_code == 201, checked.text
    await settled(nats_url, *cordon.services, timeout=60)
    return admin, people


async def test_console_in_a_browser(databases, nats_server, home):
    async_playwright = _browser_or_skip()
    async with running_stack(databases, nats_server.url, home, rate_per_ip=100_000.0, rate_per_principal=100_000.0) as cordon:
        admin, people = await _seed(cordon, nats_server.url)
        gw = cordon.gateway
        base = str(gw.base_url).rstrip("/")
        stats = (await gw.get("/api/v1/stats/overview", params={"region_code": "320413"}, headers=admin)).json()
        assert stats["people"] == len(NAMES) and sum(d["count"] for d in stats["positives_by_day"]) == 2

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                failed = []
                page.on("requestfailed", lambda r: failed.append(r.url))
                page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
                await page.goto(base + "/console")
                assert await page.locator("#signin h1").text_content() == "工作人员登录"
                await _shot(page, "signin")
                await page.fill("#signin input[name=username]", "admin")
                await page.fill("#signin input[name=password]", ADMIN_PASSWORD)
                await page.click("#signin button[type=submit]")

                # The overview of the county: the figures a person reads equal the API's.
                await page.goto(base + "/console#/overview?region=320413")
                await page.wait_for_selector("h1[data-region='320413']")
                await page.wait_for_function("document.querySelector('#chart-colors')?.dataset.drawn")

                async def stat(key: str) -> str:
                    return (await page.locator(f"[data-stat='{key}'] .value").text_content()).strip()

                assert await stat("people") == str(stats["people"])
                for color in ("green", "yellow", "red"):
                    assert await stat(color) == str(stats["by_color"][color])
                assert await stat("tests_overdue") == str(stats["tests_overdue"])
                assert await stat("reports") == f"{stats['reports']['submitted']} / {stats['reports']['expected']}"
                # Late or not depends on the hour the report was filed (the deadline is 14:00 China time):
                # the overview says what the list of reports says.
                listed = (await gw.get("/api/v1/daily-reports", params={"region_code": "320413"}, headers=admin)).json()["items"]
                late = sum(1 for r in listed if r.get("late"))
                assert stats["by_color"]["red"] >= 2 and stats["reports"] == {"expected": 3, "submitted": 1, "late": late}
                rows = await page.locator("#places tbody tr").count()
                assert rows == 2  # the two townships, each with its people
                for canvas in ("chart-colors", "chart-positives", "chart-measures", "chart-reports"):
                    painted = await page.evaluate(
                        """(id) => { const c = document.getElementById(id); const d = c.getContext('2d')
                             .getImageData(0, 0, c.width, c.height).data; let n = 0;
                             for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""", canvas)
                    assert painted > 1000, (canvas, painted)
                assert await page.get_attribute("#chart-positives", "data-drawn") == "bars:2"
                await _shot(page, "overview")

                # A list: the red people of the county, names masked.
                await page.goto(base + "/console#/people?region_code=320413&health_code=red")
                await page.wait_for_selector("#list[data-list='people'] tbody tr[data-person]")
                shown = await page.locator("#list tbody tr[data-person]").count()
                assert shown == stats["by_color"]["red"]
                names = await page.locator("#list tbody td .name").all_text_contents()
                assert names and all("*" in n for n in names)
                text = await page.locator("#view").text_content()
                assert not any(person["name"] in text for person in people)
                await _shot(page, "people")
                # Paging by cursor: 12 people, 5 a page, forward to the last page and back to the first.
                await page.goto(base + "/console#/people?region_code=320413&limit=5")
                seen = []
                for number in (1, 2, 3):
                    await page.wait_for_selector(f".pager span:text-is('第 {number} 页')")
                    seen += await page.locator("#list tbody tr[data-person]").evaluate_all("rows => rows.map(r => r.dataset.person)")
                    if number < 3:
                        await page.click("#next")
                assert sorted(seen) == sorted(p["id"] for p in people) and await page.locator("#next").is_disabled()
                await page.click("#previous")
                await page.wait_for_selector(".pager span:text-is('第 2 页')")
                await page.click("#previous")
                await page.wait_for_selector(".pager span:text-is('第 1 页')")
                assert await page.locator("#previous").is_disabled()
                await page.goto(base + "/console#/people?region_code=320413&health_code=red")
                await page.wait_for_selector("#list tbody tr[data-person]")

                # The list's export (GET /persons/export, with the list's filters): what a spreadsheet opens.
                async with page.expect_download() as info:
                    await page.click("#filters .export[data-format='csv']")
                exported = Path(await (await info.value).path()).read_bytes()
                assert exported.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Chinese as UTF-8
                assert len(exported.decode("utf-8-sig").splitlines()) == shown + 1

                # The person file: masked, then revealed by an official's click, and the reveal is audited.
                first = await page.locator("#list tbody tr[data-person]").first.get_attribute("data-person")
                person = next(x for x in people if x["id"] == first)
                await page.click(f"#list tbody tr[data-person='{first}'] a")
                await page.wait_for_selector("#person-name")
                assert await page.locator("#person-name").text_content() == pii.mask_name(person["name"])
                assert person["_id_number"] not in await page.locator("#view").text_content()
                assert await page.locator("#view h2").count() >= 8  # every part of the file is there

                await _shot(page, "person")
                await page.click("#reveal")
                await eventually(lambda: _text_is(page, "#person-name", person["name"]), timeout=10)
                assert await page.locator("#person-id-number").text_content() == person["_id_number"]
                trail = (await gw.get("/api/v1/audit", params={"entity": "person", "entity_id": first}, headers=admin)).json()["items"]
                assert [a["action"] for a in trail].count("reveal") == 1
                await _shot(page, "person-revealed")

                # Another file: the meeting this person checked in at.
                await page.goto(base + f"/console#/person/{people[0]['id']}")
                await page.wait_for_selector(f"#person-name:text-is('{pii.mask_name(people[0]['name'])}')")
                assert "东门村村民议事会" in await page.locator("#view").text_content()

                # The gatherings waiting for an official's approval.
                await page.goto(base + "/console#/gatherings")
                await page.wait_for_selector("#list[data-list='gatherings'] tbody td")
                assert "东门村村民议事会" in await page.locator("#list").text_content()
                await _shot(page, "gatherings")

                # English on request; the risk-area list opens.
                await page.click("#lang")
                await page.goto(base + "/console#/risk-areas")
                await page.wait_for_selector("#list[data-list='risk-areas']")
                assert await page.locator("#view h1").text_content() == "Risk areas"
                assert not failed, failed
            finally:
                await browser.close()


async def _text_is(page, selector: str, text: str) -> bool:
    return (await page.locator(selector).text_content()) == text
