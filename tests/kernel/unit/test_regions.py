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
