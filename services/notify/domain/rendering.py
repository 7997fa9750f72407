"""Fill a template with facts; a missing fact is an error, never a blank or a literal '{field}'."""

from __future__ import annotations

import string
from collections.abc import Mapping

from services.notify.domain.templates import COLLAPSED, LANGUAGES, TEMPLATES, WORDS


class MissingFact(KeyError):
    """A template names a field the facts do not carry."""


class _Strict(dict):
    def __missing__(self, key: str):
        raise MissingFact(key)


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else LANGUAGES[0]


def fields(kind: str) -> set[str]:
    """The names every language of ``kind`` uses."""
    names: set[str] = set()
    for parts in TEMPLATES[kind].values():
        for text in parts.values():
            names |= {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return names


def render(kind: str, language: str | None, facts: Mapping[str, object]) -> tuple[str, str]:
    """(title, body) of ``kind`` in ``language`` (zh when unknown)."""
    template = TEMPLATES[kind][language_of(language)]
    values = _Strict(facts)
    return template["title"].format_map(values), template["body"].format_map(values)


def render_title(kind: str, facts: Mapping[str, object]) -> str:
    """The Chinese title alone (a worklist line)."""
    return render(kind, "zh", facts)[0]


def collapsed_body(body: str, count: int, language: str | None) -> str:
    return body + COLLAPSED[language_of(language)].format(count=count) if count > 1 else body


def word(group: str, code: str, language: str | None) -> str:
    return WORDS[group][language_of(language)].get(code, code)


def join(items: list[str], language: str | None) -> str:
    separator = WORDS["separator"][language_of(language)]
    return separator["list"].join(items) if items else separator["none"]
