import pytest

from cordon import regions
from cordon.auth import Principal


@pytest.mark.parametrize(
    "outer,inner,inside",
    [
        ("320413", "320413", True),
        ("320400", "320413", True),
        ("320000", "320413", True),
        ("320000", "320400", True),
        ("320413", "320400", False),
        ("320400", "320500", False),
        ("110101", "320413", False),
    ],
)
def test_containment(outer, inner, inside):
    assert regions.contains(outer, inner) is inside


def test_parents():
    assert regions.parent("320413") == "320400"
    assert regions.parent("320400") == "320000"
    assert regions.parent("320000") is None


def test_codes():
    assert regions.is_region_code("320413")
    assert not regions.is_region_code("32041")
    assert not regions.is_region_code("020413")
    assert not regions.is_region_code("32041a")


def test_principal_region_visibility():
    official = Principal(subject="u1", role="official", regions=("320400",))
    assert official.sees_region("320413")
    assert not official.sees_region("110101")
    assert Principal(subject="a", role="admin").sees_region("110101")
    assert not Principal(subject="r", role="resident").sees_region("320413")


TOWNSHIP, VILLAGE, GRID = "320413100", "320413100201", "320413100201001"


@pytest.mark.parametrize(
    "outer,inner,inside",
    [
        ("320413", TOWNSHIP, True),
        ("320400", VILLAGE, True),
        ("320000", GRID, True),
        (TOWNSHIP, VILLAGE, True),
        (TOWNSHIP, GRID, True),
        (VILLAGE, GRID, True),
        (VILLAGE, VILLAGE, True),
        (VILLAGE, "320413100202", False),  # the next village
        (VILLAGE, TOWNSHIP, False),
        (GRID, VILLAGE, False),
        (TOWNSHIP, "320413101201", False),
        ("441900", "441900003", True),  # a town of a city without counties (东莞)
    ],
)
def test_containment_below_the_county(outer, inner, inside):
    assert regions.contains(outer, inner) is inside


def test_levels_and_parents_down_to_the_grid():
    assert [regions.level(c) for c in ("320000", "320400", "320413", TOWNSHIP, VILLAGE, GRID)] == list(regions.LEVELS)
    assert regions.parent(GRID) == VILLAGE and regions.parent(VILLAGE) == TOWNSHIP and regions.parent(TOWNSHIP) == "320413"
    assert regions.parent("441900003") == "441900"
    assert regions.ancestors(GRID) == [GRID, VILLAGE, TOWNSHIP, "320413", "320400", "320000"]
    assert regions.scope_prefix(TOWNSHIP) == TOWNSHIP


@pytest.mark.parametrize(
    "code",
    ["3204131", "32041310", "3204131001", "320413000", "320413100000", "320000100", "320413100201001002", 320413, "", None],
)
def test_malformed_codes(code):
    assert not regions.is_region_code(code)


def test_longer_codes_are_well_formed():
    assert all(regions.is_region_code(c) for c in (TOWNSHIP, VILLAGE, GRID, "441900003"))


def test_a_village_worker_sees_the_village_and_not_the_next():
    worker = Principal(subject="w", role="grid_worker", regions=(VILLAGE,))
    assert worker.sees_region(VILLAGE) and worker.sees_region(GRID)
    assert not worker.sees_region("320413100202") and not worker.sees_region(TOWNSHIP) and not worker.sees_region("320413")
    township = Principal(subject="t", role="official", regions=(TOWNSHIP,))
    assert township.sees_region(VILLAGE) and township.sees_region("320413100202") and not township.sees_region("320413101201")


async def test_within_is_a_prefix_range_in_sql():
    """The SQL form agrees with ``contains`` on a real database, for every pair."""
    from sqlalchemy import Column, MetaData, String, Table, insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    codes = ["320000", "320400", "320413", "320412", TOWNSHIP, "320413101", VILLAGE, "320413100202", GRID, "320500", "441900003"]
    table = Table("place", MetaData(), Column("code", String(15), primary_key=True))
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
        await conn.execute(insert(table), [{"code": c} for c in codes])
        for outer in codes:
            found = set((await conn.execute(select(table.c.code).where(regions.within(table.c.code, outer)))).scalars())
            assert found == {c for c in codes if regions.contains(outer, c)}, outer
        both = set((await conn.execute(select(table.c.code).where(regions.within_any(table.c.code, [VILLAGE, "320500"])))).scalars())
        assert both == {VILLAGE, GRID, "320500"}
        assert not (await conn.execute(select(table.c.code).where(regions.within_any(table.c.code, [])))).all()
    await engine.dispose()


def test_child_toward_is_one_level_down():
    assert regions.child_toward("320400", VILLAGE) == "320413"
    assert regions.child_toward("320413", GRID) == TOWNSHIP
    assert regions.child_toward(TOWNSHIP, GRID) == VILLAGE
    assert regions.child_toward(TOWNSHIP, VILLAGE) == VILLAGE
    assert regions.child_toward("320000", "320413") == "320400"
    assert regions.child_toward(TOWNSHIP, TOWNSHIP) is None and regions.child_toward(TOWNSHIP, "320413101201") is None
    assert regions.city(GRID) == "320400" and regions.county(GRID) == "320413" and regions.county("320400") is None
