"""The single-table DynamoDB store. Every path is GetItem, Query or a conditional write."""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chatbridge.errors import BadRequestError, FieldIssue
from chatbridge.store.items import ApiKeyItem, RegistrationItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
USER_INDEX = "gsi1"


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _numbers_back(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _numbers_back(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_numbers_back(v) for v in value]
    return value


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _numbers_back(_deserializer.deserialize(v)) for k, v in item.items()}


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_token(token: str | None, expected_keys: set[str]) -> dict[str, Any] | None:
    if not token:
        return None
    invalid = BadRequestError(
        "next_token is not one this API issued.", errors=[FieldIssue("next_token", "invalid token")]
    )
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    well_formed = (
        isinstance(decoded, dict)
        and set(decoded) == expected_keys
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in decoded.values())
    )
    if not well_formed:
        raise invalid
    return dict(decoded)


def _plain(model_values: dict[str, Any]) -> dict[str, Any]:
    """JSON-mode values (datetimes as ISO strings); floats become Decimals via a JSON round trip."""
    plain: dict[str, Any] = json.loads(json.dumps(model_values), parse_float=Decimal)
    return plain


class DynamoStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # registrations -------------------------------------------------------------------------
    def save_registration(self, item: RegistrationItem) -> RegistrationItem:
        values = _plain({**item.model_dump(mode="json"), **item.keys()})
        for key_name in ("pk", "sk", "created_at"):
            values.pop(key_name)
        names = {f"#f{i}": name for i, name in enumerate(values)}
        sets = [f"{alias} = :v{alias[2:]}" for alias, name in names.items() if values[name] is not None]
        removes = [alias for alias, name in names.items() if values[name] is None]
        sets.append("#created_at = if_not_exists(#created_at, :created_at)")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        attribute_values = {f":v{alias[2:]}": values[name] for alias, name in names.items()}
        attribute_values[":created_at"] = item.created_at.isoformat()
        response = self._client.update_item(
            TableName=self._table,
            Key=to_attributes(item.key(item.id)),
            UpdateExpression=expression,
            ExpressionAttributeNames={**names, "#created_at": "created_at"},
            ExpressionAttributeValues=to_attributes(attribute_values),
            ReturnValues="ALL_NEW",
        )
        return RegistrationItem.model_validate(from_attributes(response["Attributes"]))

    def get_registration(self, registration_id: str) -> RegistrationItem | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_attributes(RegistrationItem.key(registration_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return RegistrationItem.model_validate(from_attributes(item)) if item else None

    def find_registrations(
        self, provider: str, user_id: str, limit: int, next_token: str | None
    ) -> tuple[list[RegistrationItem], str | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": USER_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": RegistrationItem.user_index_key(provider, user_id)}},
            "Limit": limit,
        }
        start = decode_token(next_token, {"pk", "sk", "gsi1pk", "gsi1sk"})
        if start:
            if start["gsi1pk"] != query["ExpressionAttributeValues"][":pk"]:
                raise BadRequestError(
                    "next_token belongs to another query.", errors=[FieldIssue("next_token", "token of another query")]
                )
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        items = [RegistrationItem.model_validate(from_attributes(i)) for i in response.get("Items", [])]
        return items, encode_token(response.get("LastEvaluatedKey"))

    # API keys --------------------------------------------------------------------------------
    def put_api_key(self, item: ApiKeyItem) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes({**item.model_dump(mode="json"), **item.key(item.key_hash)}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_api_key(self, key_hash: str) -> ApiKeyItem | None:
        response = self._client.get_item(TableName=self._table, Key=to_attributes(ApiKeyItem.key(key_hash)))
        item = response.get("Item")
        return ApiKeyItem.model_validate(from_attributes(item)) if item else None
