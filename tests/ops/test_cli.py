"""The operator's `cordon` CLI, run as a subprocess against real databases (SQLite and PostgreSQL),
a real gateway and a real nats-server: what each command prints, and what it changes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import pytest
from sqlalchemy import func, select

from cordon import db
from cordon.bus.tables import dead_letter, outbox
from cordon.natsserver import free_port
from tests.kernel.integration import noteapp
from tests.kernel.integration.noteapp import Faults
from tests.serving import eventually, serve, settled, start_service

PASSWORD = "a long enough password"


async def cordon(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """Run `cordon ARGS` in a child process; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cordon", *args, env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode, out.decode(), err.decode()


async def sign_in(gateway, username: str, password: str):
    return await gateway.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_users_and_partners_against_a_running_gateway(databases):
    closed = f"http://127.0.0.1:{free_port()}"  # no upstream answers: the door's own verdicts are what is seen
    async with start_service("gateway", databases, None, registry_url=closed) as gateway:
        env = {"CORDON_GATEWAY_DATABASE_URL": gateway.app_settings.database_url}

        code, out, _ = await cordon("users", "create", "li.official", "--role", "official", "--regions", "110101",
                                    "--password-stdin", env=env, stdin=PASSWORD + "\n")
        assert code == 0, out
        assert out.splitlines()[0] == "已创建用户 li.official（角色 official，辖区 110101）。"
        assert "Created user li.official (role official, regions 110101)." in out
        assert PASSWORD not in out

        signed = await sign_in(gateway, "li.official", PASSWORD)
        assert signed.status_code == 200, signed.text
        token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        assert (await gateway.get("/api/v1/persons", headers=token)).status_code in (502, 503)  # let through

        # A generated password is printed once, and the old one stops working.
        code, out, _ = await cordon("users", "reset-password", "li.official", env=env)
        assert code == 0
        assert out.startswith("已重置用户 li.official 的密码")
        new_password = re.search(r"新密码（仅显示这一次）：(\S+)", out).group(1)
        assert (await sign_in(gateway, "li.official", PASSWORD)).status_code == 401
        assert (await sign_in(gateway, "li.official", new_password)).status_code == 200

        code, out, _ = await cordon("users", "deactivate", "li.official", env=env)
        assert code == 0
        assert out.startswith("已停用用户 li.official")
        refused = await sign_in(gateway, "li.official", new_password)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_credentials")

        async def token_refused():
            answer = await gateway.get("/api/v1/persons", headers=token)
            return answer if answer.status_code == 401 else None

        answer = await eventually(token_refused, timeout=15)
        assert answer.json()["code"] == "account_disabled"

        code, out, _ = await cordon("users", "deactivate", "li.official", env=env)
        assert (code, out.splitlines()[0]) == (0, "用户 li.official 此前已停用，未作改动。")
        code, _, err = await cordon("users", "deactivate", "nobody", env=env)
        assert code == 1
        assert err.splitlines()[0] == "未能完成（not_found）：未找到所请求的资源。"

        code, out, _ = await cordon("users", "list", "--json", env=env)
        users = {u["username"]: u for u in json.loads(out)}
        assert set(users) == {"admin", "li.official"}
        assert (users["li.official"]["active"], users["admin"]["active"]) == (False, True)

        # A partner's key opens its routes until it is revoked.
        code, out, _ = await cordon("partners", "create", "东城区卡口", "--scopes", "gate,travel_records",
                                    "--regions", "110101", env=env)
        assert code == 0
        assert out.startswith("已创建合作方 东城区卡口")
        key = re.search(r"API 密钥（仅显示这一次，只保存其摘要）：(\S+)", out).group(1)
        push = {"X-Api-Key": key, "Content-Type": "application/x-ndjson"}
        assert (await gateway.post("/api/v1/travel-records/batch", content=b"{}\n", headers=push)).status_code in (502, 503)

        code, out, _ = await cordon("partners", "list", "--json", env=env)
        (partner,) = json.loads(out)
        assert (partner["name"], partner["scopes"], partner["regions"], partner["active"]) == (
            "东城区卡口", ["gate", "travel_records"], ["110101"], True)

        code, out, _ = await cordon("partners", "revoke", "东城区卡口", env=env)
        assert code == 0
        assert out.startswith(f"已吊销合作方 东城区卡口（{partner['id']}）的 API 密钥")

        async def key_refused():
            answer = await gateway.post("/api/v1/travel-records/batch", content=b"{}\n", headers=push)
            return answer if answer.status_code == 401 else None

        assert (await eventually(key_refused, timeout=15)).json()["code"] == "invalid_api_key"
        code, out, _ = await cordon("partners", "list", "--json", env=env)
        assert [p["active"] for p in json.loads(out)] == [False]


async def test_invalid_input_is_one_clear_line_and_changes_nothing(databases):
    url = await databases.new("gateway")
    from cordon import migrate

    await asyncio.to_thread(migrate.upgrade, "gateway", url)
    env = {"CORDON_GATEWAY_DATABASE_URL": url}
    code, out, err = await cordon("users", "create", "wang", "--role", "grid_worker", "--password-stdin", env=env,
                                stdin=PASSWORD + "\n")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "未能完成（regions_required）：防控干部和网格员至少须分配一个地区。"
    code, _, err = await cordon("users", "create", "wang", "--role", "lab", "--password-stdin", env=env, stdin="short\n")
    assert code == 1 and err.startswith("输入有误：password")
    code, out, _ = await cordon("users", "list", "--json", env=env)
    assert json.loads(out) == []


@pytest.fixture
async def tally(databases):
    notes, tally = await databases.new("notes"), await databases.new("tally")
    await noteapp.create_schema(notes)
    await noteapp.create_schema(tally)
    yield notes, tally
    Faults.poison_text, Faults.calls = "poison", 0


async def test_dead_letters_listed_shown_replayed_and_dropped(tally, nats_server):
    notes_url, tally_url = tally
    # The tally consumer's database stands in for a service's: the commands read its bus tables.
    env = {"CORDON_EVENTS_DATABASE_URL": tally_url, "CORDON_NATS_URL": nats_server.url}
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally_client:
        first = (await notes.post("/api/v1/notes", json={"text": "poison"})).json()["id"]
        await notes.post("/api/v1/notes", json={"text": "poison"})
        await settled(nats_server.url, *apps)

        code, out, _ = await cordon("dead-letters", "list", "--service", "events", "--json", env=env)
        letters = json.loads(out)
        assert code == 0
        assert [(x["ref"], x["service"], x["consumer"], x["subject"]) for x in letters] == [
            ("events:1", "events", "tally-notes", "notes.note.created"),
            ("events:2", "events", "tally-notes", "notes.note.created"),
        ]
        assert letters[0]["error"].startswith("ValueError: cannot handle this note")

        code, out, _ = await cordon("dead-letters", "show", "events:1", "--json", env=env)
        shown = json.loads(out)
        assert (shown["payload"]["data"]["note_id"], shown["payload"]["type"]) == (first, "notes.note.created.v1")
        code, out, _ = await cordon("dead-letters", "list", "--service", "events", env=env)
        assert "events:2" in out and out.rstrip().splitlines()[-2] == "共 2 条死信。"

        # Fixed (the handler takes the text now): the replay reaches the consumer, which handles it once.
        Faults.poison_text = "still refused"
        code, out, err = await cordon("dead-letters", "replay", "events:1", env=env)
        assert code == 0, err
        assert out.startswith(f"已重新投递 events:1（事件 {shown['event_id']}，主题 notes.note.created）给消费者 tally-notes。")
        await settled(nats_server.url, *apps)
        seen = (await tally_client.get("/api/v1/received")).json()
        assert seen["notes"] == [first]

        code, out, err = await cordon("dead-letters", "drop", "events:2", "events:9", env=env)
        assert code == 1
        assert "已删除死信 events:2。" in out
        assert "没有这些死信：events:9。" in err.splitlines()
        code, out, _ = await cordon("dead-letters", "list", "--service", "events", "--json", env=env)
        assert json.loads(out) == []
        assert (await tally_client.get("/api/v1/received")).json()["count"] == 1

    engine = db.create_engine(tally_url)
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(dead_letter))).scalar_one() == 0
    await engine.dispose()


async def test_a_replay_without_nats_is_refused_in_a_line_not_a_traceback(tally):
    _, tally_url = tally
    url = f"nats://127.0.0.1:{free_port()}"
    code, out, err = await cordon("dead-letters", "replay", "--all", env={"CORDON_EVENTS_DATABASE_URL": tally_url,
                                                                          "CORDON_NATS_URL": url})
    assert code == 1
    assert "Traceback" not in err and f"Cannot reach NATS at {url}" in err, err


async def test_a_replay_that_fails_again_is_set_aside_again(tally, nats_server):
    notes_url, tally_url = tally
    # A cluster's URL, one node of it down: the replay reaches the other.
    cluster = f"nats://127.0.0.1:{free_port()}, {nats_server.url}"
    env = {"CORDON_EVENTS_DATABASE_URL": tally_url, "CORDON_NATS_URL": cluster}
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]):
        await notes.post("/api/v1/notes", json={"text": "poison"})
        await settled(nats_server.url, *apps)
        code, out, _ = await cordon("dead-letters", "list", "--service", "events", "--json", env=env)
        (before,) = json.loads(out)
        code, _, _ = await cordon("dead-letters", "replay", "--all", "--service", "events", env=env)
        assert code == 0
        await settled(nats_server.url, *apps)
        code, out, _ = await cordon("dead-letters", "list", "--service", "events", "--json", env=env)
        (after,) = json.loads(out)  # set aside anew (SQLite may give it the freed id again)
        assert (after["event_id"], after["consumer"], after["error"]) == (before["event_id"], "tally-notes", before["error"])
        assert after["created_at"] > before["created_at"]


async def test_outbox_status_counts_the_backlog_per_service(tally):
    notes_url, _ = tally
    env = {"CORDON_REGISTRY_DATABASE_URL": notes_url}
    async with serve(noteapp.notes_app(notes_url, None)) as notes:  # no NATS: events wait in the outbox
        for text in ("a", "b", "c"):
            await notes.post("/api/v1/notes", json={"text": text})
    code, out, _ = await cordon("outbox", "status", "--service", "registry", "--json", env=env)
    (status,) = json.loads(out)
    assert (code, status["service"], status["unsent"], status["failing"]) == (0, "registry", 3, 0)
    assert status["oldest_unsent_age_s"] >= 0 and status["oldest_unsent_at"] is not None
    engine = db.create_engine(notes_url)
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 3
    await engine.dispose()
    code, out, _ = await cordon("outbox", "status", "--service", "registry", env=env)
    assert out.rstrip().splitlines()[-2] == "发件箱共有 3 条事件待发送。"
