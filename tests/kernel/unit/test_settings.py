import pytest
from pydantic import ValidationError

from cordon.settings import Settings


class ThingSettings(Settings):
    service = "thing"


def test_sqlite_file_per_service_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("CORDON_HOME", str(tmp_path))
    settings = ThingSettings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'thing.db'}"
    assert settings.source == "cordon/thing"


def test_service_database_url_from_its_own_variable(monkeypatch):
    monkeypatch.setenv("CORDON_THING_DATABASE_URL", "postgresql+asyncpg://db/thing")
    assert ThingSettings().database_url == "postgresql+asyncpg://db/thing"


def test_production_refuses_missing_secrets(monkeypatch):
    monkeypatch.setenv("CORDON_ENV", "prod")
    monkeypatch.delenv("CORDON_PII_INDEX_KEY")
    with pytest.raises(ValidationError):
        ThingSettings()


def test_dev_mode_generates_keys_once(monkeypatch, tmp_path):
    monkeypatch.setenv("CORDON_HOME", str(tmp_path))
    monkeypatch.delenv("CORDON_PII_INDEX_KEY")
    first, second = ThingSettings(), ThingSettings()
    assert first.pii_index_key == second.pii_index_key and len(first.pii_index_key) == 64
    assert (tmp_path / "keys" / "pii.json").stat().st_mode & 0o777 == 0o600
    assert "BEGIN PUBLIC KEY" in first.jwt_public_key
