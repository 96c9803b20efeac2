"""The declared shapes of the APIs' answers, checked in one place (pydantic).

Each source declares the answers it reads as :class:`Answer` models in its own file and
reads them through :func:`parse`: an answer of the wrong shape (a list where an object was
expected, a missing id, a number where a URL should be, an HTML page instead of JSON)
becomes a :class:`~vsrdata.crawler.http.CrawlError` naming the source and the first
offending field, which the crawl records for that source and keyword before going on.

Field types are lenient where APIs are known to vary and strict where the crawl depends on
the value: :data:`Text` takes a string, a number or null (as ""), or a list of strings
(joined, as Internet Archive sends several creators); :data:`OptInt` and :data:`OptFloat`
take numbers, numeric strings ("320", "4.0") and null; unknown fields are ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from vsrdata.crawler.http import CrawlError

__all__ = ["Answer", "Ident", "Items", "Mapping", "OptFloat", "OptInt", "Text", "parse"]


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("expected text, got a boolean")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(v for v in value if v)
    return value  # a str passes; anything else fails as "Input should be a valid string"


def _number(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"expected a number, got {value[:40]!r}") from None
    return value


def _int(value: Any) -> Any:
    value = _number(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _ident(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ValueError("expected an id (a number or a non-empty string)")
    return str(value)


def _empty_mapping(value: Any) -> Any:
    return {} if value is None or value == [] else value  # PHP encodes an empty map as []


def _empty_list(value: Any) -> Any:
    return [] if value is None else value


T = TypeVar("T")
Text = Annotated[str, BeforeValidator(_text)]
Ident = Annotated[str, BeforeValidator(_ident)]  # a record's id: a number or a string
OptInt = Annotated[int | None, BeforeValidator(_int)]
OptFloat = Annotated[float | None, BeforeValidator(_number)]
Items = Annotated[list[T], BeforeValidator(_empty_list)]  # a JSON list, or null for none
# a JSON object, or null or [] (how PHP APIs such as MediaWiki's send an empty one) for none
Mapping = Annotated[dict[str, T], BeforeValidator(_empty_mapping)]

M = TypeVar("M", bound="Answer")


class Answer(BaseModel):
    """Base of a declared answer shape: declared fields are checked, others ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def parse(source: str, model: type[M], data: Any, what: str = "answer") -> M:
    """``data`` (decoded JSON) as ``model``, or a CrawlError that says what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        message = re.sub(r" or instance of \w+", "", first["msg"])
        raise CrawlError(f"{source}: unexpected {what}: {where}: {message}{more}") from None
