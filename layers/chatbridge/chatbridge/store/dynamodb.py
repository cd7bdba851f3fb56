"""The single-table DynamoDB store. Every path is GetItem, Query or a conditional write."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chatbridge import page_tokens
from chatbridge.clock import utc_now
from chatbridge.store.items import (
    API_KEYS_INDEX_KEY,
    LIST_INDEX,
    REGISTRATION_LIST,
    STATE_LIST_INDEX,
    ApiKeyItem,
    PresenceItem,
    RegistrationItem,
    RegistrationRefItem,
    SealedCredentialsItem,
    list_partition,
    sortable_time,
)
from chatbridge.store.lists import RegistrationFilters

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
USER_INDEX = "gsi1"


# DynamoDB keeps 32 levels of nesting in an item; free-form values (a provider's answer kept with a
# message) are stored as JSON text from this depth on, and a map key DynamoDB refuses (empty) is renamed.
STORABLE_DEPTH = 24
EMPTY_KEY = "(empty)"


def storable(value: Any, depth: int = 0) -> Any:
    """`value` in a shape DynamoDB accepts, whatever a provider put in it."""
    if isinstance(value, dict | list) and depth >= STORABLE_DEPTH:
        return json.dumps(value, default=str)
    if isinstance(value, dict):
        return {(key or EMPTY_KEY): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item, depth + 1) for item in value]
    return value


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(storable(v)) for k, v in values.items() if v is not None}


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


def encode_token(last_key: dict[str, Any] | None, query: str) -> str | None:
    """An opaque token continuing `query` (chatbridge.page_tokens: encrypted, bound to the query)."""
    return page_tokens.seal(last_key, query)


def decode_token(token: str | None, expected_keys: set[str], query: str) -> dict[str, Any] | None:
    return page_tokens.open_token(token, query, expected_keys)


def _plain(model_values: dict[str, Any]) -> dict[str, Any]:
    """JSON-mode values (datetimes as ISO strings); floats become Decimals via a JSON round trip."""
    plain: dict[str, Any] = json.loads(json.dumps(model_values), parse_float=Decimal)
    return plain


def list_page(*args: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], str | None]:
    from chatbridge.store.queries import list_page as page  # queries imports this module

    return page(*args, **kwargs)


class DynamoStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # registrations -------------------------------------------------------------------------
    def save_registration(self, item: RegistrationItem) -> RegistrationItem:
        if item.provider_ref:
            # Written first: a pointer to a registration that failed to save finds nothing, while a
            # registration without its pointer would miss the provider's callbacks.
            self._put_registration_ref(
                RegistrationRefItem(provider=item.provider, provider_ref=item.provider_ref, registration_id=item.id)
            )
        values = _plain({**item.model_dump(mode="json"), **item.keys()})
        # kept from the first save: the creation time, and the list position made of it
        kept = {name: values.pop(name) for name in ("created_at", "gsi2sk", "gsi3sk")}
        for key_name in ("pk", "sk"):
            values.pop(key_name)
        names = {f"#f{i}": name for i, name in enumerate(values)}
        sets = [f"{alias} = :v{alias[2:]}" for alias, name in names.items() if values[name] is not None]
        removes = [alias for alias, name in names.items() if values[name] is None]
        sets += [f"#{name} = if_not_exists(#{name}, :{name})" for name in kept]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        attribute_values = {f":v{alias[2:]}": values[name] for alias, name in names.items()}
        attribute_values.update({f":{name}": value for name, value in kept.items()})
        response = self._client.update_item(
            TableName=self._table,
            Key=to_attributes(item.key(item.id)),
            UpdateExpression=expression,
            ExpressionAttributeNames={**names, **{f"#{name}": name for name in kept}},
            ExpressionAttributeValues=to_attributes(attribute_values),
            ReturnValues="ALL_NEW",
        )
        stored = from_attributes(response["Attributes"])
        saved = RegistrationItem.model_validate(stored)
        position = saved.keys()["gsi2sk"]
        if stored.get("gsi2sk") != position:
            # saved before the lists existed: its list position takes its own creation time
            self._client.update_item(
                TableName=self._table,
                Key=to_attributes(item.key(item.id)),
                UpdateExpression="SET gsi2sk = :position, gsi3sk = :position",
                ExpressionAttributeValues=to_attributes({":position": position}),
            )
        return saved

    def create_registration_if_absent(self, item: RegistrationItem) -> tuple[RegistrationItem, bool]:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attributes(_plain({**item.model_dump(mode="json"), **item.keys()})),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            existing = self.get_registration(item.id)
            if existing is not None:
                return existing, False
            raise
        if item.provider_ref:
            self._put_registration_ref(
                RegistrationRefItem(provider=item.provider, provider_ref=item.provider_ref, registration_id=item.id)
            )
        return item, True

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
        bound_to = f"registrations/{RegistrationItem.user_index_key(provider, user_id)}"
        start = decode_token(next_token, {"pk", "sk", "gsi1pk", "gsi1sk"}, bound_to)
        if start:
            if start["gsi1pk"] != query["ExpressionAttributeValues"][":pk"]:
                raise page_tokens.invalid_token()
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        items = [RegistrationItem.model_validate(from_attributes(i)) for i in response.get("Items", [])]
        return items, encode_token(response.get("LastEvaluatedKey"), bound_to)

    def list_registrations(
        self, filters: RegistrationFilters, limit: int, next_token: str | None
    ) -> tuple[list[RegistrationItem], str | None]:
        index = LIST_INDEX if filters.status is None else STATE_LIST_INDEX
        from chatbridge.store.queries import ListQuery

        spec = ListQuery(
            index,
            [list_partition(REGISTRATION_LIST, provider, filters.status) for provider in filters.providers],
            after=sortable_time(filters.created_after) if filters.created_after else None,
            before=sortable_time(filters.created_before) if filters.created_before else None,
            filters={
                name: value
                for name, value in (("connection", filters.connection), ("presence.state", filters.presence))
                if value is not None
            },
        )
        found, token = list_page(self._client, self._table, spec, limit, next_token)
        return [RegistrationItem.model_validate(from_attributes(item)) for item in found], token

    def find_registration_by_provider_ref(self, provider: str, provider_ref: str) -> RegistrationItem | None:
        key = to_attributes(RegistrationRefItem.key(provider, provider_ref))
        pointer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not pointer:
            return None
        return self.get_registration(RegistrationRefItem.model_validate(from_attributes(pointer)).registration_id)

    def _put_registration_ref(self, ref: RegistrationRefItem) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes({**ref.model_dump(mode="json"), **ref.key(ref.provider, ref.provider_ref)}),
        )

    # state reported by provider events (written by the events processor) ----------------------
    def apply_presence(self, registration_id: str, presence: PresenceItem) -> bool:
        return self._update_registration_if_newer(
            registration_id,
            "SET #presence = :presence, updated_at = :now",
            "attribute_not_exists(#presence) OR #presence.#version < :version",
            {"#presence": "presence", "#version": "version"},
            {":presence": presence.model_dump(mode="json"), ":version": presence.version},
        )

    def apply_verification_status(self, registration_id: str, status: str, version: str) -> bool:
        # The status list (gsi3) is keyed by provider and status: the provider is read first (it
        # never changes), so the status and its list move in one conditional update.
        current = self.get_registration(registration_id)
        if current is None:
            return False
        state_list = list_partition(REGISTRATION_LIST, current.provider, status)
        return self._update_registration_if_newer(
            registration_id,
            "SET #status = :status, status_version = :version, updated_at = :now, gsi3pk = :state_list",
            "attribute_not_exists(status_version) OR status_version < :version",
            {"#status": "status"},
            {":status": status, ":version": version, ":state_list": state_list},
        )

    def _update_registration_if_newer(
        self, registration_id: str, expression: str, newer: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        """One conditional update: an older or repeated event fails the condition and changes nothing."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attributes(RegistrationItem.key(registration_id)),
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(pk) AND ({newer})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes({**values, ":now": utc_now().isoformat()}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # provider-issued credentials (encrypted before they get here) ------------------------------
    def save_credentials(self, item: SealedCredentialsItem) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes({**item.model_dump(mode="json"), **item.key(item.registration_id)}),
        )

    def get_credentials(self, registration_id: str) -> SealedCredentialsItem | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_attributes(SealedCredentialsItem.key(registration_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return SealedCredentialsItem.model_validate(from_attributes(item)) if item else None

    # API keys --------------------------------------------------------------------------------
    def put_api_key(self, item: ApiKeyItem) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes({**item.model_dump(mode="json"), **item.keys()}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_api_key(self, key_hash: str) -> ApiKeyItem | None:
        # Consistent: a revocation is seen by the very next read (the gateway's cache is the only delay).
        response = self._client.get_item(
            TableName=self._table, Key=to_attributes(ApiKeyItem.key(key_hash)), ConsistentRead=True
        )
        item = response.get("Item")
        return ApiKeyItem.model_validate(from_attributes(item)) if item else None

    def api_keys_page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[ApiKeyItem], dict[str, Any] | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": USER_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": API_KEYS_INDEX_KEY}},
            "Limit": limit,
        }
        if start:
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        items = [ApiKeyItem.model_validate(from_attributes(i)) for i in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")

    def find_api_key(self, key_id: str) -> ApiKeyItem | None:
        index = ApiKeyItem.index_key(key_id)
        response = self._client.query(
            TableName=self._table,
            IndexName=USER_INDEX,
            KeyConditionExpression="gsi1pk = :pk AND gsi1sk = :sk",
            ExpressionAttributeValues=to_attributes({":pk": index["gsi1pk"], ":sk": index["gsi1sk"]}),
        )
        found = response.get("Items") or []
        return ApiKeyItem.model_validate(from_attributes(found[0])) if found else None

    def revoke_api_key(self, key_hash: str, revoked_at: str) -> ApiKeyItem | None:
        """Mark the key revoked (the first revocation's time is kept); None if there is no such key."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_attributes(ApiKeyItem.key(key_hash)),
                UpdateExpression="SET active = :false, revoked_at = if_not_exists(revoked_at, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":false": False, ":now": revoked_at}),
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return ApiKeyItem.model_validate(from_attributes(response["Attributes"]))
