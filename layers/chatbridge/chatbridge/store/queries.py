"""One Query on the table's gsi1 with the API's opaque page tokens: the shape of every list by index."""

from __future__ import annotations

from typing import Any

from chatbridge.errors import BadRequestError, FieldIssue
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
    A token issued for another index key is refused."""
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
    start = decode_token(next_token, INDEX_KEYS)
    if start:
        if start["gsi1pk"]["S"] != index_key:
            raise BadRequestError(
                "next_token belongs to another query.", errors=[FieldIssue("next_token", "token of another query")]
            )
        query["ExclusiveStartKey"] = start
    answer = client.query(**query)
    return list(answer.get("Items", [])), encode_token(answer.get("LastEvaluatedKey"))
