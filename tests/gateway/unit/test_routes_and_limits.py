import pytest

from gateway import limits, openapi, proxy, routes


@pytest.mark.parametrize(
    "path,upstream",
    [
        ("persons", "registry"),
        ("persons/abc", "registry"),
        ("persons/abc/health-code", "registry"),
        ("persons/abc/tests", "testing"),
        ("persons/abc/negative-proof", "testing"),
        ("me", "registry"),
        ("me/health-code", "registry"),
        ("me/tests", "testing"),
        ("me/negative-proof", "testing"),
        ("me/notifications/1/read", "notify"),
        ("travel-records/batch", "registry"),
        ("samples/batch", "testing"),
        ("results", "testing"),
        ("gatherings/1/check-ins", "events"),
        ("notifications/broadcast", "notify"),
        ("regions/320413/roster", "registry"),
    ],
)
def test_resolve(path, upstream):
    assert routes.resolve(path).upstream == upstream


def test_unknown_paths_and_api_key_routes():
    assert routes.resolve("nowhere") is None
    assert routes.resolve("") is None
    assert {r.pattern: r.scope for r in routes.ROUTES if r.api_key} == {
        ("travel-records", "batch"): "travel_records", ("health-code", "verify"): "gate"}


def test_bucket_allows_a_burst_then_the_rate():
    clock = [0.0]
    limiter = limits.RateLimiter(rate=2, burst=4, clock=lambda: clock[0])
    assert [limiter.check("a") for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.check("a") == pytest.approx(0.5)
    assert limiter.check("b") == 0  # keys are apart
    clock[0] += 0.5
    assert limiter.check("a") == 0


def test_limiter_forgets_idle_keys_beyond_its_size():
    limiter = limits.RateLimiter(rate=1, burst=1, max_keys=2, clock=lambda: 0.0)
    for key in "abc":
        limiter.check(key)
    assert list(limiter.buckets) == ["b", "c"]


def test_breaker_opens_after_failures_and_half_opens_after_cooldown():
    breaker = proxy.Breaker(threshold=3, cooldown_s=10)
    for _ in range(3):
        assert breaker.retry_after(0) == 0
        breaker.failure(0)
    assert breaker.retry_after(1) == pytest.approx(9)
    assert breaker.retry_after(10) == 0  # the trial request
    assert breaker.retry_after(10.5) > 0  # others wait while it runs
    breaker.success()
    assert breaker.retry_after(11) == 0


def test_openapi_merge_keeps_paths_and_fails_on_clashing_schemas():
    own = {"openapi": "3.1.0", "paths": {"/api/v1/auth/token": {"post": {"operationId": "auth_token", "responses": {}}}},
           "components": {"schemas": {"A": {"type": "string"}}}}
    registry = {"paths": {"/api/v1/persons": {"get": {"operationId": "persons_list", "responses": {}}}},
                "components": {"schemas": {"A": {"type": "string"}, "B": {"type": "object"}}}}
    merged = openapi.merge(own, {"registry": registry})
    assert set(merged["paths"]) == {"/api/v1/auth/token", "/api/v1/persons"}
    assert merged["components"]["schemas"]["B"] == {"type": "object"}
    assert {"HTTPBearer", "PartnerKey"} <= set(merged["components"]["securitySchemes"])

    # One name, two shapes: a generated client would get one of them wrong.
    clash = {**registry, "components": {"schemas": {"A": {"type": "integer"}}}}
    with pytest.raises(openapi.MergeConflict, match="'A'"):
        openapi.merge(own, {"registry": clash})
    twice = {"paths": {"/api/v1/persons/x": {"get": {"operationId": "persons_list", "responses": {}}}}}
    with pytest.raises(openapi.MergeConflict, match="persons_list"):
        openapi.merge(own, {"registry": registry, "testing": twice})


def test_every_service_route_has_a_home_in_the_table():
    """Walks each service's own routes: every one must resolve to that service at the gateway."""
    import importlib
    import re

    from cordon import services as catalogue

    for name in routes.UPSTREAMS:
        app = importlib.import_module(catalogue.app_path(name).split(":")[0]).create_app()
        paths = {p for p in app.openapi()["paths"] if p.startswith("/api/v1/")}
        assert paths, name
        for path in paths:
            concrete = re.sub(r"\{[^}]+\}", "x", path.removeprefix("/api/v1/"))
            route = routes.resolve(concrete)
            assert route is not None and route.upstream == name, f"{path} of {name} goes to {route and route.upstream}"


def test_the_client_address_is_read_through_trusted_proxies_only():
    proxies = limits.trusted_networks("10.0.0.0/8, 127.0.0.1")
    # Not a proxy: its own address, whatever the header says.
    assert limits.client_address("198.51.100.7", ["1.2.3.4"], proxies) == "198.51.100.7"
    assert limits.client_address("198.51.100.7", ["1.2.3.4"], ()) == "198.51.100.7"
    # A proxy: the nearest address it did not add itself; what the client wrote sits further left.
    assert limits.client_address("10.0.0.2", ["6.6.6.6, 203.0.113.9"], proxies) == "203.0.113.9"
    assert limits.client_address("10.0.0.2", ["6.6.6.6, 203.0.113.9, 10.0.0.5"], proxies) == "203.0.113.9"
    assert limits.client_address("10.0.0.2", ["6.6.6.6", "203.0.113.9"], proxies) == "203.0.113.9"  # two header lines
    assert limits.client_address("10.0.0.2", [], proxies) == "10.0.0.2"
    assert limits.client_address("10.0.0.2", ["not-an-address"], proxies) == "10.0.0.2"
    assert limits.client_address("::1", ["203.0.113.9"], limits.trusted_networks("::1")) == "203.0.113.9"


def test_trusted_proxies_must_be_addresses():
    import pytest

    with pytest.raises(ValueError):
        limits.trusted_networks("10.0.0.0/8 proxy.example")
    assert limits.trusted_networks("") == ()
