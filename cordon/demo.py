"""`cordon seed --demo`: a county's worth of demonstration data, entered through the running system's API.

Everything goes through the gateway as staff and partners would enter it (sign-in, places, users, rosters,
people, a partner's travel push, samples and results, gatherings, follow-ups, daily reports), so every
service holds it and every event flows: the console, the lists and the stats show a county in the middle
of its day. Run it against a system that is up (`make up`, then `cordon seed --demo` in another
terminal). Seeding twice adds nothing twice: what exists already is kept (409 is taken as done).

The county is 金坛区 (320413): two townships (streets), two villages (communities) in each, two grids in
each village; a grid worker per village, a township official, the county's official and a lab account
(password `demo-password-1` for all of them); 160 people with every colour, measures of several kinds,
tests, two gatherings, big-data leads, follow-ups and the day's reports.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import orjson

from cordon.clock import local_date, utcnow
from cordon.pii import id_check_character

COUNTY = "320413"
TOWNSHIPS = {"320413001": "东城街道", "320413100": "金城镇"}
VILLAGES = {
    "320413001001": "华城社区", "320413001002": "东门社区",
    "320413100201": "西岗村", "320413100202": "河头村",
}
PASSWORD = "demo-password-1"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华")
PEOPLE = 160


def grids(village: str) -> dict[str, str]:
    return {f"{village}{n:03d}": f"{VILLAGES[village]}第{'一二'[n - 1]}网格" for n in (1, 2)}


def id_number(serial: int, born: str) -> str:
    first17 = f"{COUNTY}{born}{serial % 1000:03d}"
    return first17 + id_check_character(first17)


@dataclass
class Seeding:
    client: httpx.Client
    say: Callable[[str], None]
    tokens: dict[str, dict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def call(self, method: str, path: str, *, as_: str | None = None, ok=(200, 201, 202), **kwargs) -> httpx.Response | None:
        headers = {**kwargs.pop("headers", {}), **(self.tokens[as_] if as_ else {})}
        for _ in range(20):  # a well-behaved client: past the gateway's rate limit, wait as it says, then again
            response = self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(min(float(response.headers.get("Retry-After") or 1), 5.0))
        if response.status_code == 409:  # already there: seeding again keeps it
            return None
        if response.status_code not in ok:
            raise SeedFailed(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def sign_in(self, name: str, username: str, password: str) -> None:
        response = self.client.post("/api/v1/auth/token", data={"username": username, "password": password})
        if response.status_code != 200:
            raise SeedFailed(f"{username} 无法登录（{response.status_code}）：{response.text[:200]}")
        self.tokens[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}


class SeedFailed(RuntimeError):
    pass


def seed_demo(base_url: str, admin_password: str, say: Callable[[str], None] = print, progress=None) -> dict[str, int]:
    """Enter the demo county through the gateway at ``base_url``; the counts of what was entered."""
    rng = random.Random(20220301)
    today = local_date(utcnow())
    with httpx.Client(base_url=base_url, timeout=60) as client:
        s = Seeding(client, say)
        s.sign_in("admin", "admin", admin_password)
        _places(s)
        _users_and_rosters(s)
        people = _people(s, rng, progress)
        _risk_and_travel(s, rng, people, today)
        _tests(s, rng, people)
        _gatherings(s, people)
        _follow_ups_and_reports(s, people, today)
    return s.counts


def _places(s: Seeding) -> None:
    lines = ["code,name", *(f"{c},{n}" for c, n in TOWNSHIPS.items()), *(f"{c},{n}" for c, n in VILLAGES.items())]
    lines += [f"{c},{n}" for v in VILLAGES for c, n in grids(v).items()]
    answer = s.call("POST", "/regions/import", as_="admin", content="\n".join(lines).encode() + b"\n",
                    headers={"content-type": "text/csv"}).json()
    s.count("places", answer["accepted"])
    s.say(f"地点：{len(TOWNSHIPS)} 个街道（乡镇）、{len(VILLAGES)} 个社区（村）、{2 * len(VILLAGES)} 个网格")


def _users_and_rosters(s: Seeding) -> None:
    users = [("qu-official", "official", [COUNTY]), ("lab-demo", "lab", [])]
    users += [(f"zhen-{code}", "official", [code]) for code in TOWNSHIPS]
    users += [(f"grid-{code}", "grid_worker", [code]) for code in VILLAGES]
    for username, role, places in users:
        if s.call("POST", "/auth/users", as_="admin", json={"username": username, "password": PASSWORD, "role": role, "regions": places}):
            s.count("users")
    for village in VILLAGES:
        township = village[:9]
        roster = {"township_cadre": f"zhen-{township}", "village_cadre": f"grid-{village}", "doctor": f"doc-{village}",
                  "police": f"police-{village}", "grid_worker": f"grid-{village}"}
        s.call("PUT", f"/regions/{village}/roster", as_="admin", json=roster)
    s.sign_in("official", "qu-official", PASSWORD)
    s.sign_in("lab", "lab-demo", PASSWORD)
    for village in VILLAGES:
        s.sign_in(village, f"grid-{village}", PASSWORD)
    s.say(f"账号：区指挥部、{len(TOWNSHIPS)} 个街道（乡镇）、{len(VILLAGES)} 名网格员、1 个检测机构（密码均为 {PASSWORD}）；各村五包一名单")


def _people(s: Seeding, rng: random.Random, progress) -> list[dict]:
    people = []
    places = [(v, g) for v in VILLAGES for g in grids(v)]
    for i in range(PEOPLE):
        village, grid = places[i % len(places)]
        born = f"{rng.randrange(1945, 2015)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        body = {"id_number": id_number(i, born), "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "phone": f"139{52000000 + i:08d}", "region_code": grid, "address": f"{VILLAGES[village]}{1 + i % 40}号",
                "tags": ["returnee"] if i % 9 == 0 else (["high_risk_post"] if i % 13 == 0 else [])}
        answer = s.call("POST", "/persons", as_=village, json=body)
        if answer is None:  # seeded before: find them again
            answer = s.call("GET", "/persons/lookup", as_="official", params={"id_number": body["id_number"]})
        else:
            s.count("people")
        people.append({**answer.json(), "_id_number": body["id_number"], "_phone": body["phone"], "_village": village})
        if progress:
            progress(i + 1, PEOPLE)
    s.say(f"人员：{PEOPLE} 人，分布在 {len(places)} 个网格")
    return people


def _risk_and_travel(s: Seeding, rng: random.Random, people: list[dict], today) -> None:
    s.call("PUT", "/risk-areas/420106", as_="official", json={"level": "high", "name": "武汉市武昌区"})
    s.call("PUT", "/risk-areas/310104", as_="official", json={"level": "medium", "name": "上海市徐汇区"})
    key = s.call("POST", "/auth/partners", as_="admin", json={"name": "运营商大数据（演示）", "regions": [COUNTY]})
    if key is None:
        s.say("行程推送：合作方已存在，跳过")
        return
    lines = []
    for n, person in enumerate(people[:24]):  # a sixth have been where the risk is: measures, red and yellow
        region = "420106" if n % 3 == 0 else "310104"
        left = today - timedelta(days=1 + n % 6)
        lines.append({"record_id": f"demo-{n}", "phone": person["_phone"], "region_code": region,
                      "first_seen": (left - timedelta(days=2)).isoformat(), "last_seen": left.isoformat()})
    for n, village in enumerate(list(VILLAGES) * 2):  # phones nobody registered: leads for the villages
        lines.append({"record_id": f"demo-lead-{n}", "phone": f"137{60000000 + n:08d}", "region_code": "420106",
                      "first_seen": (today - timedelta(days=3)).isoformat(), "last_seen": (today - timedelta(days=2)).isoformat(),
                      "current_region_code": village})
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    answer = s.call("POST", "/travel-records/batch", content=body,
                    headers={"X-API-Key": key.json()["api_key"], "content-type": "application/x-ndjson"}).json()
    s.count("travel_records", answer["accepted"])
    s.say(f"行程推送：{answer['accepted']} 条（其中 {2 * len(VILLAGES)} 条手机号未登记，转为线索交所在村核查）；中高风险地区 2 个")


def _tests(s: Seeding, rng: random.Random, people: list[dict]) -> None:
    collected = utcnow() - timedelta(hours=5)
    tested = (utcnow() - timedelta(hours=1)).isoformat()
    pool = people[40:100]
    for n, person in enumerate(pool):
        sample = {"barcode": f"DEMO-{n:04d}", "id_number": person["_id_number"], "collected_at": collected.isoformat(),
                  "site": "金坛区人民医院采样点", "tube_id": f"DEMO-T{n // 10:03d}"}
        if s.call("POST", "/samples", as_="lab", json=sample):
            s.count("samples")
    for tube in range(len(pool) // 10):
        result = "positive" if tube == 2 else "negative"
        if s.call("POST", "/results", as_="lab", json={"tube_id": f"DEMO-T{tube:03d}", "result": result, "tested_at": tested,
                                                       "lab": "金坛区疾控中心"}):
            s.count("results")
    single = people[100]  # a single-tube positive: red at once
    s.call("POST", "/samples", as_="lab", json={"barcode": "DEMO-S-0001", "id_number": single["_id_number"],
                                                "collected_at": collected.isoformat(), "site": "金坛区人民医院采样点"})
    s.call("POST", "/results", as_="lab", json={"barcode": "DEMO-S-0001", "result": "positive", "tested_at": tested, "lab": "金坛区疾控中心"})
    s.say(f"核酸检测：{len(pool)} 份十混一样本（1 管阳性），1 份单管阳性")


def _gatherings(s: Seeding, people: list[dict]) -> None:
    now = utcnow()
    village = next(iter(VILLAGES))
    banquet = {"title": "王家婚宴", "kind": "banquet", "organizer": {"name": "王建华", "phone": "13600001234"},
               "venue": {"address": "华城社区文化礼堂", "region_code": village},
               "starts_at": (now + timedelta(days=2)).isoformat(), "ends_at": (now + timedelta(days=2, hours=3)).isoformat(),
               "expected_attendees": 80, "tables": 8}
    meeting = {"title": "秋季农技培训会", "kind": "meeting", "organizer": {"name": "李明", "phone": "13600005678"},
               "venue": {"address": "金城镇政府三楼会议室", "region_code": "320413100201"},
               "starts_at": (now + timedelta(days=3)).isoformat(), "ends_at": (now + timedelta(days=3, hours=2)).isoformat(),
               "expected_attendees": 60}
    plans = {"prevention_plan": "入场测温、查验健康码和行程卡，全程佩戴口罩，座位间隔一米以上，专人登记参加人员。",
             "emergency_plan": "发现发热或健康码异常人员立即在临时隔离点留观，报告属地社区和疾控部门，配合流调。"}
    filed = {g["title"] for g in s.call("GET", "/gatherings", as_="official", params={"limit": 500}).json()["items"]}
    for body in (banquet, meeting):
        body.update(plans)
        if body["title"] not in filed and _file(s, body):
            s.count("gatherings")
    s.say("聚集性活动：婚宴 1 场（备案）、培训会 1 场（待审批）")


def _file(s: Seeding, body: dict, wait_s: float = 30.0) -> bool:
    """File a gathering; the events service learns of new villages from the registry's announcements a moment
    after they are made, so a venue it has not heard of yet is tried again for a while."""
    deadline = time.monotonic() + wait_s
    while True:
        answer = s.call("POST", "/gatherings", as_=body["venue"]["region_code"], json=body, ok=(201, 422))
        if answer is None or answer.status_code == 201:
            return answer is not None
        if answer.json().get("code") != "region_unknown" or time.monotonic() > deadline:
            raise SeedFailed(f"POST /gatherings: 422 {answer.text[:300]}")
        time.sleep(0.5)


def _follow_ups_and_reports(s: Seeding, people: list[dict], today) -> None:
    for n, person in enumerate(people[:24]):  # the morning's visits to people under home monitoring (a third missed)
        if n % 3 == 0:
            continue
        for measure in s.call("GET", f"/persons/{person['id']}/measures", as_="official").json()["items"]:
            active = measure["kind"] == "home_health_monitoring" and measure["status"] == "active"
            if active and s.call("POST", f"/measures/{measure['id']}/follow-ups", as_=person["_village"], ok=(200, 201, 422),
                                 json={"temperature": 36.5}):
                s.count("follow_ups")
    for village in list(VILLAGES)[:3]:  # the fourth has not reported: the console shows it missing
        report = {"region_code": village, "date": today.isoformat(), "zero": False,
                  "counts": {"returnees_screened": 4, "under_control": 2, "fever": 0, "tests_taken": 15}, "note": "无异常情况"}
        if s.call("POST", "/daily-reports", as_=village, json=report):
            s.count("daily_reports")
    s.say(f"日报告：{len(VILLAGES) - 1} 个社区（村）已报告，1 个未报告")
