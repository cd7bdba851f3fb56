"""One Query on the table's gsi1 with the API's opaque page tokens: the shape of every list by index."""

from __future__ import annotations

from typing import Any

from chatbridge.page_tokens import invalid_token, open_token, seal
from chatbridge.store.dynamodb import decode_token, encode_token
from chatbridge.store.items import SUBJECT_INDEX

INDEX_KEYS = {"pk", "sk", "gsi1pk", "gsi1sk"}


def query_index(
    client: Any,
    table: str,
    index_key: str,
    limit: int,
    next_token: str | None,
    *,
    newest_first: bool = False,
    from_sk: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `gsi1pk = index_key` (and `gsi1sk >= from_sk`): raw items and the next token.
    A token issued for another query is refused (422 via page_tokens.invalid_token)."""
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": SUBJECT_INDEX,
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": index_key}},
        "Limit": limit,
        "ScanIndexForward": not newest_first,
    }
    if from_sk is not None:
        query["KeyConditionExpression"] += " AND gsi1sk >= :from"
        query["ExpressionAttributeValues"][":from"] = {"S": from_sk}
    # A token is sealed to its query: one issued for another index key (or order) does not open.
    bound_to = f"gsi1/{index_key}/{'desc' if newest_first else 'asc'}/{from_sk or ''}"
    start = decode_token(next_token, INDEX_KEYS, bound_to)
    if start:
        if start["gsi1pk"]["S"] != index_key:
            raise invalid_token()
        query["ExclusiveStartKey"] = start
    answer = client.query(**query)
    return list(answer.get("Items", [])), encode_token(answer.get("LastEvaluatedKey"), bound_to)


# -- operator lists: gsi2 / gsi3, newest first, merged over partitions ------------------------------
DONE = "done"


class ListQuery:
    """One list: partitions of one index (one per provider named or reachable), newest first, with
    an optional time range on the sort key and equality filters on other attributes.

    A page runs one Query per partition not yet exhausted, each with `Limit=limit`, and keeps the
    `limit` newest of what they return, so a page reads at most `limit` items per partition. Filters
    are FilterExpressions: DynamoDB applies them after `Limit`, so a filtered page stays bounded but
    may hold fewer than `limit` items (even none) and still have a `next_token`.
    """

    def __init__(
        self,
        index: str,
        partitions: list[str],
        *,
        after: str | None = None,
        before: str | None = None,
        filters: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self.partitions = partitions
        self.after = after
        self.before = before
        self.filters = dict(sorted((filters or {}).items()))
        self.pk_attr = f"{index}pk"
        self.sk_attr = f"{index}sk"

    def bound_to(self) -> str:
        """What a token is sealed to: a token of another list (other partitions, range or filters) does not open."""
        filters = "&".join(f"{k}={v}" for k, v in self.filters.items())
        return f"list/{self.index}/{'|'.join(self.partitions)}/{self.after or ''}/{self.before or ''}/{filters}"

    def request(self, partition: str, limit: int) -> dict[str, Any]:
        condition = f"{self.pk_attr} = :pk"
        values: dict[str, Any] = {":pk": {"S": partition}}
        if self.after is not None and self.before is not None:
            condition += f" AND {self.sk_attr} BETWEEN :after AND :before"
        elif self.after is not None:
            condition += f" AND {self.sk_attr} >= :after"
        elif self.before is not None:
            condition += f" AND {self.sk_attr} < :before"
        if self.after is not None:
            values[":after"] = {"S": self.after}
        if self.before is not None:
            # `<time>#<id>` sorts after `<time>`: BETWEEN ... AND <before> leaves `before` itself out
            values[":before"] = {"S": self.before}
        query: dict[str, Any] = {
            "IndexName": self.index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if self.filters:
            names: dict[str, str] = {}
            clauses = []
            for n, (path, value) in enumerate(self.filters.items()):
                aliases = []
                for m, part in enumerate(path.split(".")):
                    names[f"#f{n}_{m}"] = part
                    aliases.append(f"#f{n}_{m}")
                clauses.append(f"{'.'.join(aliases)} = :f{n}")
                values[f":f{n}"] = {"S": value}
            query["FilterExpression"] = " AND ".join(clauses)
            query["ExpressionAttributeNames"] = names
        return query


def list_page(
    client: Any, table: str, spec: ListQuery, limit: int, next_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `spec`, newest first: raw items and the token of the next page (None: the last)."""
    key_names = ("pk", "sk", spec.pk_attr, spec.sk_attr)
    allowed = {f"{i}.{name}" for i in range(len(spec.partitions)) for name in (*key_names, DONE)}
    opened = decode_cursors(next_token, allowed, spec.bound_to())
    states: dict[int, Any] = {}
    for flat, value in opened.items():
        position, name = flat.split(".", 1)
        states.setdefault(int(position), {})[name] = value
    answers: dict[int, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
    gathered: list[tuple[str, int, dict[str, Any]]] = []
    for i, partition in enumerate(spec.partitions):
        state = states.get(i)
        if state is not None and DONE in state:
            continue
        query = {"TableName": table, **spec.request(partition, limit)}
        if state is not None:
            if set(state) != set(key_names) or state[spec.pk_attr]["S"] != partition:
                raise invalid_token()
            query["ExclusiveStartKey"] = state
        answer = client.query(**query)
        items = list(answer.get("Items", []))
        answers[i] = (items, answer.get("LastEvaluatedKey"))
        gathered.extend((item[spec.sk_attr]["S"], i, item) for item in items)
    gathered.sort(key=lambda found: (found[0], -found[1]), reverse=True)
    page = gathered[:limit]
    cursors: dict[str, Any] = {}
    for i in range(len(spec.partitions)):
        state = states.get(i)
        if i in answers:
            items, last_key = answers[i]
            consumed = [item for _, at, item in page if at == i]
            if len(consumed) == len(items):
                state = {name: last_key[name] for name in key_names} if last_key else {DONE: {"S": "1"}}
            elif consumed:
                state = {name: consumed[-1][name] for name in key_names}
        for name, value in (state or {}).items():
            cursors[f"{i}.{name}"] = value
    finished = all(f"{i}.{DONE}" in cursors for i in range(len(spec.partitions)))
    token = None if finished else seal(cursors, spec.bound_to())
    return [item for _, _, item in page], token


def decode_cursors(token: str | None, allowed: set[str], bound_to: str) -> dict[str, Any]:
    return open_token(token, bound_to, allowed, subset=True) or {}
