"""One Query on the table's gsi1 with the API's opaque page tokens: the shape of every list by index."""

from __future__ import annotations

from typing import Any

from chatbridge.page_tokens import invalid_token
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
