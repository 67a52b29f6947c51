"""/api/schedules on the fake CLI: create (PUT, POST), replace, list, delete,
422s naming the field, the API keys and tenants, and real ticks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from app_helpers import auth

A, B = auth("tenant-a"), auth("tenant-b")


def loc_of(r: httpx.Response) -> list[Any]:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    loc: list[Any] = detail[0]["loc"]
    return loc


@pytest.mark.asyncio
async def test_put_post_list_replace_delete(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/schedules")).json() == {"schedules": []}
    r = await client.put(
        "/api/schedules/nightly",
        json={"cron": "0 2 * * *", "timezone": "Europe/Paris", "spec": {"prompt": "Report", "memory": "256M", "timeout": 90}},
    )
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["name"] == "nightly" and s["cron"] == "0 2 * * *" and s["timezone"] == "Europe/Paris"
    assert s["catch_up"] == "run_once" and s["next_tick_ms"] > s["last_tick_ms"] >= s["created_ms"]
    assert s["spec"]["prompt"] == "Report" and s["spec"]["memory"] == 256 << 20 and s["spec"]["timeout"] == 90
    assert s["spec"].get("tenant") is None

    r = await client.post("/api/schedules", json={"name": "hourly", "cron": "0 * * * *", "catch_up": "skip", "spec": {"prompt": "Check"}})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "hourly" and r.json()["catch_up"] == "skip" and r.json()["timezone"] == "UTC"

    r = await client.put("/api/schedules/nightly", json={"cron": "30 3 * * 1-5", "spec": {"template": "brief", "variables": {"brand": "ACME", "research": "R"}}})
    assert r.status_code == 200, r.text
    assert r.json()["cron"] == "30 3 * * 1-5" and r.json()["timezone"] == "UTC"
    listed = (await client.get("/api/schedules")).json()["schedules"]
    assert [x["name"] for x in listed] == ["hourly", "nightly"] and listed[1]["cron"] == "30 3 * * 1-5"

    d = await client.delete("/api/schedules/nightly")
    assert d.status_code == 204 and d.content == b""
    again = await client.delete("/api/schedules/nightly")
    assert again.status_code == 404 and again.json() == {"detail": "schedule nightly not found"}
    assert [x["name"] for x in (await client.get("/api/schedules")).json()["schedules"]] == ["hourly"]

    spec = (await client.get("/openapi.json")).json()
    assert {"get", "post"} <= set(spec["paths"]["/api/schedules"])
    assert {"put", "delete"} <= set(spec["paths"]["/api/schedules/{name}"])
    assert {"ScheduleRequest", "ScheduleCreate", "ScheduleOut"} <= set(spec["components"]["schemas"])


@pytest.mark.asyncio
async def test_bad_fields_are_422_naming_them_and_the_policy_403(client: httpx.AsyncClient) -> None:
    ok = {"prompt": "x"}
    cases: list[tuple[str, str, dict[str, Any], list[Any]]] = [
        ("PUT", "/api/schedules/bad", {"cron": "not a cron", "spec": ok}, ["body", "cron"]),
        ("PUT", "/api/schedules/bad", {"cron": "61 * * * *", "spec": ok}, ["body", "cron"]),
        ("POST", "/api/schedules", {"name": "bad", "cron": "* * *", "spec": ok}, ["body", "cron"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "timezone": "Mars/Olympus_Mons", "spec": ok}, ["body", "timezone"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "catch_up": "sometimes", "spec": ok}, ["body", "catch_up"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "spec": {"prompt": "x", "memory": "lots"}}, ["body", "spec", "memory"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "spec": {"prompt": "x", "max_turn": 3}}, ["body", "spec", "max_turn"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "spec": {"prompt": "x", "tenant": "t"}}, ["body", "spec", "tenant"]),
        ("PUT", "/api/schedules/bad", {"cron": "* * * * *", "spec": ok, "extra": 1}, ["body", "extra"]),
        ("PUT", "/api/schedules/bad", {"spec": ok}, ["body", "cron"]),
        ("POST", "/api/schedules", {"cron": "* * * * *", "spec": ok}, ["body", "name"]),
        ("POST", "/api/schedules", {"name": "", "cron": "* * * * *", "spec": ok}, ["body", "name"]),
    ]
    for method, path, body, loc in cases:
        r = await client.request(method, path, json=body)
        assert loc_of(r) == loc, (body, r.text)
    assert loc_of(await client.put("/api/schedules/.hidden", json={"cron": "* * * * *", "spec": ok})) == ["path", "name"]
    # The server's policy (the safe one) is checked when the schedule is set: 403 naming the field.
    r = await client.put("/api/schedules/big", json={"cron": "* * * * *", "spec": {"prompt": "x", "cpus": 2.5}})
    assert r.status_code == 403 and r.json()["code"] == "POLICY_VIOLATION" and r.json()["field"] == "cpus", r.text
    assert (await client.get("/api/schedules")).json() == {"schedules": []}


@pytest.mark.asyncio
async def test_keys_and_tenants(auth_client: httpx.AsyncClient) -> None:
    body = {"cron": "0 * * * *", "spec": {"prompt": "a's"}}
    for method, path, payload in [
        ("GET", "/api/schedules", None),
        ("PUT", "/api/schedules/x", body),
        ("POST", "/api/schedules", {**body, "name": "x"}),
        ("DELETE", "/api/schedules/x", None),
    ]:
        r = await auth_client.request(method, path, json=payload)
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED", (method, path, r.text)

    r = await auth_client.put("/api/schedules/a-hourly", json=body, headers=A)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["tenant"] == "tenant-a"
    assert [s["name"] for s in (await auth_client.get("/api/schedules", headers=A)).json()["schedules"]] == ["a-hourly"]
    assert (await auth_client.get("/api/schedules", headers=B)).json() == {"schedules": []}
    # Another tenant's schedule is an unknown one to B; its name is taken.
    theirs = await auth_client.delete("/api/schedules/a-hourly", headers=B)
    unknown = await auth_client.delete("/api/schedules/no-such", headers=B)
    assert theirs.status_code == 404 == unknown.status_code
    assert theirs.json() == json.loads(unknown.text.replace("no-such", "a-hourly"))
    taken = await auth_client.put("/api/schedules/a-hourly", json={"cron": "* * * * *", "spec": {"prompt": "b's"}}, headers=B)
    assert taken.status_code == 409, taken.text
    a_view = (await auth_client.get("/api/schedules", headers=A)).json()["schedules"]
    assert a_view[0]["cron"] == "0 * * * *" and a_view[0]["spec"]["prompt"] == "a's"
    assert (await auth_client.delete("/api/schedules/a-hourly", headers=A)).status_code == 204


@pytest.mark.asyncio
async def test_ticks_submit_the_tenants_jobs(auth_client: httpx.AsyncClient) -> None:
    r = await auth_client.put("/api/schedules/every2", json={"cron": "*/2 * * * * *", "spec": {"prompt": "tick", "labels": {"k": "v"}}}, headers=A)
    assert r.status_code == 200, r.text
    await asyncio.sleep(5)
    assert (await auth_client.delete("/api/schedules/every2", headers=A)).status_code == 204
    jobs = (await auth_client.get("/api/jobs", params={"label": "schedule=every2"}, headers=A)).json()["jobs"]
    ticks = [j["labels"]["schedule_tick"] for j in jobs]
    assert 2 <= len(jobs) <= 3 and len(set(ticks)) == len(ticks), ticks
    for j in jobs:
        assert j["tenant"] == "tenant-a" and j["labels"]["k"] == "v" and j["labels"]["schedule"] == "every2", j
    # B sees none of them.
    assert (await auth_client.get("/api/jobs", params={"label": "schedule=every2"}, headers=B)).json()["jobs"] == []
