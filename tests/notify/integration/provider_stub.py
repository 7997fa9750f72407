"""A stand-in SMS/WeChat provider on loopback, run as its own process: fails, times out and succeeds by turns.

    python -m tests.notify.integration.provider_stub PORT [--mode turns|ok] [--delay SECONDS]

Turns (per request, across all callers): 500, a hang longer than the caller's timeout, 429, 200.
A phone ending in 0000 is refused with 400 (a bad number: give up). GET /deliveries answers
{"accepted": {idempotency key: times accepted}, "requests": n}.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

from aiohttp import web

TURNS = ("error", "hang", "busy", "ok")


def make_app(mode: str, hang_s: float, delay_s: float) -> web.Application:
    accepted: Counter[str] = Counter()
    state = {"requests": 0}

    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        turn = TURNS[state["requests"] % len(TURNS)] if mode == "turns" else "ok"
        state["requests"] += 1
        if delay_s:
            await asyncio.sleep(delay_s)
        if str(body.get("to", "")).endswith("0000"):
            return web.json_response({"error": "invalid number"}, status=400)
        if turn == "error":
            return web.json_response({"error": "internal"}, status=500)
        if turn == "busy":
            return web.json_response({"error": "slow down"}, status=429)
        if turn == "hang":
            await asyncio.sleep(hang_s)  # the caller has given up by now: not counted as delivered
            return web.json_response({"error": "late"}, status=504)
        accepted[request.headers.get("Idempotency-Key", "")] += 1
        return web.json_response({"status": "queued"})

    async def deliveries(_: web.Request) -> web.Response:
        return web.json_response({"accepted": dict(accepted), "requests": state["requests"]})

    app = web.Application()
    app.router.add_post("/{channel}", send)
    app.router.add_get("/deliveries", deliveries)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--mode", choices=("turns", "ok"), default="turns")
    parser.add_argument("--hang", type=float, default=3.0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(make_app(args.mode, args.hang, args.delay), host="127.0.0.1", port=args.port, print=None,
                access_log=None)


if __name__ == "__main__":
    main()
