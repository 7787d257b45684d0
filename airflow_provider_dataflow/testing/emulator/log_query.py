"""The subset of Oracle's Logging query language the emulator answers (docs/emulator.md lists it).

``search "<compartment>[/<log group>[/<log>]]" [, "..."]`` then any of ``| where <condition>`` and
``| sort by datetime [asc|desc]``. A condition compares a record field (``data.opcRequestId``,
``type``, ``subject``, ``source``, ``data.level``, ...) with ``=`` or ``!=`` to a single-quoted string
(``*`` matches any run of characters, as ``source = '*<ocid>'`` does), combined with ``and``, ``or``,
``not`` and parentheses. Keywords are case-insensitive (Oracle's page: "Logging Query Language
Specification"). Anything else is a 400 that says what the emulator understands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter

Condition = Callable[[Mapping[str, Any]], bool]  # on a record's logContent

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<stream>"[^"]*")
      | (?P<string>'(?:[^']|'')*')
      | (?P<op>!=|<=|>=|=|<|>|\||,|\(|\))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)
    )""",
    re.VERBOSE,
)
SUPPORTED = (
    "search \"<compartment>/<log group>/<log>\", then | where <field> = '<value>' (and, or, not, !=, parentheses) "
    "and | sort by datetime asc|desc"
)


@dataclass(frozen=True)
class LogStream:
    compartment_id: str
    log_group_id: str | None
    log_id: str | None

    def contains(self, compartment_id: str, log_group_id: str, log_id: str) -> bool:
        return (
            self.compartment_id == compartment_id
            and self.log_group_id in (None, log_group_id)
            and self.log_id in (None, log_id)
        )


@dataclass(frozen=True)
class LogQuery:
    streams: tuple[LogStream, ...]
    condition: Condition | None
    descending: bool


def parse_query(text: str) -> LogQuery:
    """Parse ``searchQuery``; a 400 InvalidParameter names what is not understood."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    return parser.query()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _unsupported(text, f"cannot read {text[position:].strip()[:40]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unsupported(text: str, problem: str) -> Exception:
    return invalid_parameter(f"searchQuery {text!r}: {problem}. The emulator understands: {SUPPORTED}.")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self._tokens = tokens
        self._text = text
        self._at = 0

    def query(self) -> LogQuery:
        self._keyword("search")
        streams = [self._stream()]
        while self._peek_op(","):
            self._at += 1
            streams.append(self._stream())
        conditions: list[Condition] = []
        descending = False
        while self._peek_op("|"):
            self._at += 1
            if self._peek_word("where"):
                self._at += 1
                conditions.append(self._or())
            elif self._peek_word("sort"):
                self._at += 1
                self._keyword("by")
                self._keyword("datetime")
                if self._peek_word("desc") or self._peek_word("asc"):
                    descending = self._next()[1].lower() == "desc"
            else:
                raise self._error("only | where and | sort by datetime may follow the search")
        if self._at < len(self._tokens):
            raise self._error("unexpected text after the query")
        return LogQuery(tuple(streams), _all(conditions) if conditions else None, descending)

    def _stream(self) -> LogStream:
        kind, value = self._next()
        if kind != "stream":
            raise self._error('a log stream in double quotes must follow search: "<compartment>/<group>/<log>"')
        parts = value.strip('"').split("/")
        if not parts[0] or len(parts) > 3 or not all(parts):
            raise self._error(f"{value} is not <compartment>[/<log group>[/<log>]]")
        return LogStream(parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None)

    def _or(self) -> Condition:
        terms = [self._and()]
        while self._peek_word("or"):
            self._at += 1
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else lambda record: any(term(record) for term in terms)

    def _and(self) -> Condition:
        factors = [self._factor()]
        while self._peek_word("and"):
            self._at += 1
            factors.append(self._factor())
        return _all(factors)

    def _factor(self) -> Condition:
        if self._peek_word("not"):
            self._at += 1
            inner = self._factor()
            return lambda record: not inner(record)
        if self._peek_op("("):
            self._at += 1
            inner = self._or()
            if not self._peek_op(")"):
                raise self._error("a parenthesis is not closed")
            self._at += 1
            return inner
        kind, field = self._next()
        if kind != "word":
            raise self._error(f"a field name was expected, got {field!r}")
        kind, operator = self._next()
        if operator not in ("=", "!="):
            raise self._error(f"only = and != compare fields, got {operator!r}")
        kind, literal = self._next()
        if kind != "string":
            raise self._error(f"{field} must be compared with a single-quoted string, got {literal!r}")
        return _comparison(field.split("."), literal[1:-1].replace("''", "'"), operator == "=")

    def _keyword(self, word: str) -> None:
        if not self._peek_word(word):
            raise self._error(f"{word!r} was expected")
        self._at += 1

    def _peek_word(self, word: str) -> bool:
        if self._at >= len(self._tokens):
            return False
        kind, value = self._tokens[self._at]
        return kind == "word" and value.lower() == word

    def _peek_op(self, op: str) -> bool:
        return self._at < len(self._tokens) and self._tokens[self._at] == ("op", op)

    def _next(self) -> tuple[str, str]:
        if self._at >= len(self._tokens):
            raise self._error("the query ends too early")
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _error(self, problem: str) -> Exception:
        return _unsupported(self._text, problem)


def _all(conditions: list[Condition]) -> Condition:
    return conditions[0] if len(conditions) == 1 else lambda record: all(c(record) for c in conditions)


def _comparison(path: list[str], pattern: str, equal: bool) -> Condition:
    matcher = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)

    def compare(record: Mapping[str, Any]) -> bool:
        value: Any = record
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return not equal
        return (matcher.fullmatch(str(value)) is not None) == equal

    return compare
