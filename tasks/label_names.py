"""A label's other names: its names by language and its aliases (tasks/schema.py checks labels with these).

`names` is {"zh": "轿车", "en": "Sedan"}: keys are BCP 47 language tags (language, optional script, region and
variants, without extensions), kept in canonical case so "ZH-hant" and "zh-Hant" are one language; the reader
sees the name in their language where there is one, else `name`. `aliases` are further names search finds a
label by (synonyms, scientific names, codes), each once, letter case aside. Both are optional; every value is
checked like `name`.
"""
from __future__ import annotations

import re

from tasks.validation import FORBIDDEN, Problems, check_string, show

MAX_NAME_LENGTH = 200  # a label's name, each of its names by language and each alias
MAX_LANGUAGES = 50  # names per label, one per language tag
MAX_ALIASES = 20
MAX_TAG_LENGTH = 35  # the length BCP 47 asks every implementation to support
# ASCII only: with IGNORECASE, [a-z] would also match the Kelvin sign and the long s.
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
                           r"((?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)")


def canonical_language_tag(tag: str) -> str | None:
    """The tag in BCP 47's canonical case ("ZH-hant" -> "zh-Hant", "pt-br" -> "pt-BR"), None if it is not one."""
    match = _LANGUAGE_TAG.fullmatch(tag) if len(tag) <= MAX_TAG_LENGTH else None
    if match is None:
        return None
    language, script, region, variants = match.groups()
    return (language.lower() + (script.title() if script else "") + (region.upper() if region else "")
            + variants.lower())


def parse_names(raw: object, path: str, problems: Problems) -> tuple[tuple[str, str], ...] | None:
    """A label's names by language: {"zh": "轿车", "en": "Sedan"}; None (and problems) if any is wrong."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or len(raw) > MAX_LANGUAGES:
        problems.add(path, f'Must be an object of at most {MAX_LANGUAGES} names by language tag, such as '
                           f'{{"en": "Sedan", "zh": "轿车"}}.')
        return None
    names: dict[str, str] = {}
    first_key: dict[str, str] = {}  # canonical tag -> the key that first gave it
    for key, value in raw.items():
        key_path = f"{path}.{key}" if key and len(key) <= MAX_TAG_LENGTH and not FORBIDDEN.search(key) else path
        tag = _new_tag(key, key_path, first_key, problems)
        name = check_string(value, key_path, problems, strip=True, max_length=MAX_NAME_LENGTH)
        if tag is not None and name is not None:
            names[tag] = name
    return tuple(names.items()) if len(names) == len(raw) else None


def _new_tag(key: str, path: str, first_key: dict[str, str], problems: Problems) -> str | None:
    """The key as a canonical language tag not given before (and noted in `first_key`), else None."""
    tag = canonical_language_tag(key)
    if tag is None:
        problems.add(path, f'{show(key)} is not a language tag such as "en", "zh", "zh-Hant" or "pt-BR".')
    elif tag in first_key:
        problems.add(path, f"Names the language {tag!r} again (as {first_key[tag]!r}); give each language one "
                           f"name.")
        return None
    else:
        first_key[tag] = key
    return tag


def parse_aliases(raw: object, path: str, problems: Problems) -> tuple[str, ...] | None:
    """Other names of a label, each once (letter case aside); None (and problems) if any is wrong."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_ALIASES:
        problems.add(path, f"Must be a list of at most {MAX_ALIASES} names.")
        return None
    aliases: list[str] = []
    first_index: dict[str, int] = {}
    for index, value in enumerate(raw):
        alias = check_string(value, f"{path}.{index}", problems, strip=True, max_length=MAX_NAME_LENGTH)
        if alias is None:
            continue
        folded = alias.casefold()
        if folded in first_index:
            problems.add(f"{path}.{index}", f"Repeats the alias {alias!r} (at {path}.{first_index[folded]}).")
            continue
        first_index[folded] = index
        aliases.append(alias)
    return tuple(aliases) if len(aliases) == len(raw) else None

