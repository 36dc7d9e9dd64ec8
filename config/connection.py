"""Connecting to Temporal the way every casework process does, and making a namespace ready for
casework (`casework setup`, `make run`): the connection checked, the search attributes
registered."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.service import RPCError, RPCStatusCode

from config.codec import Keyring, data_converter
from config.search_attributes import ALL, named_types, type_name
from config.settings import Settings
from domain.errors import CaseworkError, InvalidInput, NotFound, Refused, Unavailable

# How the SDK words a gRPC status it got while connecting (`RuntimeError`, not `RPCError`):
# `… call error after connection: Status { code: Unauthenticated, message: "…", … }`.
_STATUS = re.compile(r'Status \{ code: (\w+), message: "((?:[^"\\]|\\.)*)"')
# What a TLS client meeting a server without TLS reports (rustls).
_NOT_TLS = re.compile(r"InvalidContentType|InvalidMessage|CorruptMessage|tls|handshake", re.I)
# Temporal Cloud's endpoints (namespace and regional API-key ones): its operator service adds no
# search attributes (tcld, the Cloud ops API or Terraform do).
CLOUD_HOSTS = (".tmprl.cloud", ".api.temporal.io")


class Namespace(BaseModel):
    """A namespace casework can use: where it is and how casework reached it."""

    address: str
    namespace: str
    server_version: str
    tls: bool
    api_key: bool


class Registration(BaseModel):
    """casework's search attributes in a namespace: those `register` added, those already
    there."""

    added: list[str]
    present: list[str]


def default_address(settings: Settings | None = None) -> str:
    """Where casework finds Temporal when neither `--address`, TEMPORAL_ADDRESS nor a profile
    says: the dev server `make run` starts, `localhost:$CASEWORK_TEMPORAL_PORT` (7233)."""
    return f"localhost:{(settings or Settings()).temporal_port}"


def client_config(profile: str | None = None, address: str | None = None,
                  settings: Settings | None = None) -> ClientConnectConfig:
    """Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
    TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE / config file profiles), `address` over
    its address; without an address from any of these, `default_address`. An API key turns TLS
    on unless TEMPORAL_TLS=false. A configuration that does not load is InvalidInput."""
    named = os.environ.get("TEMPORAL_CONFIG_FILE")
    if named and not Path(named).is_file():  # (the SDK would go on without it)
        raise InvalidInput(f"TEMPORAL_CONFIG_FILE={named} is no file")
    try:
        config = ClientConfigProfile.load(profile=profile).to_client_connect_config()
    except (RuntimeError, OSError) as e:  # no such profile, bad TOML, a TLS file unread
        raise InvalidInput(f"Temporal's environment configuration: "
                           f"{str(e).splitlines()[0]}") from None
    if address:
        config["target_host"] = address
    config.setdefault("target_host", default_address(settings))
    return config


async def connect(profile: str | None = None, address: str | None = None,
                  settings: Settings | None = None, *, codec: bool = True) -> Client:
    """Connect with `client_config`, payloads encrypted under the configured keys (missing
    keys fail here, before connecting). `codec=False`: no keys needed, for calls that carry no
    payloads (`casework setup`). OpenTelemetry's `TracingInterceptor` rides on the client
    (workers built on it carry it too; it records nothing unless tracing is on:
    `config.telemetry`)."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    settings = settings or Settings()
    config = client_config(profile, address, settings)
    keyed = {"data_converter": data_converter(Keyring.configured(settings))} if codec else {}
    try:
        return await Client.connect(**config, **keyed, interceptors=[TracingInterceptor()])
    except RuntimeError as e:
        raise _connect_failure(str(e).splitlines()[0], config) from None


def _connect_failure(detail: str, config: ClientConnectConfig) -> CaseworkError:
    target, namespace = config["target_host"], config.get("namespace", "default")
    if status := _STATUS.search(detail):
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", status.group(1)).upper()  # PermissionDenied
        if code in RPCStatusCode.__members__:
            return failure(RPCStatusCode[code], status.group(2), target, namespace)
    if config.get("tls") and _NOT_TLS.search(detail):
        return Unavailable(f"cannot reach Temporal at {target} over TLS ({detail}); a server "
                           "without TLS needs TEMPORAL_TLS=false (an API key turns TLS on)")
    return Unavailable(f"cannot reach Temporal at {target}: {detail}")


def failure(status: RPCStatusCode, message: str, target: str, namespace: str) -> CaseworkError:
    """A gRPC refusal from Temporal as casework's one-line error."""
    said = message.splitlines()[0] if message else status.name.lower()
    if status is RPCStatusCode.NOT_FOUND:
        return NotFound(f"namespace {namespace!r} does not exist on {target} ({said})")
    if status is RPCStatusCode.UNAUTHENTICATED:
        return Refused(f"Temporal at {target} refused the credentials ({said}): check "
                       "TEMPORAL_API_KEY or the TLS client certificate")
    if status is RPCStatusCode.PERMISSION_DENIED:
        return Refused(f"Temporal at {target} does not let this caller use namespace "
                       f"{namespace!r} ({said})")
    return Unavailable(f"Temporal at {target} answered {status.name}: {said}")


def rpc_failure(e: RPCError, client: Client) -> CaseworkError:
    return failure(e.status, e.message, client.service_client.config.target_host,
                   client.namespace)


async def check(client: Client) -> Namespace:
    """The server answers, the client's namespace exists and takes work, and this caller may
    read it. Raises NotFound, Refused or Unavailable with one line."""
    try:
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace))
    except RPCError as e:
        raise rpc_failure(e, client) from None
    config = client.service_client.config
    state = described.namespace_info.state
    if state != NamespaceState.NAMESPACE_STATE_REGISTERED:
        raise Refused(f"namespace {client.namespace!r} on {config.target_host} is "
                      f"{NamespaceState.Name(state).removeprefix('NAMESPACE_STATE_').lower()}: "
                      "it takes no new work")
    return Namespace(address=config.target_host, namespace=client.namespace,
                     server_version=info.server_version or "unknown",
                     tls=bool(config.tls), api_key=bool(config.api_key))


def tcld_command(namespace: str) -> str:
    """What registers the attributes on Temporal Cloud (its namespace id: `NAME.ACCOUNT`)."""
    return (f"tcld namespace search-attributes add --namespace {namespace} "
            + " ".join(f"--search-attribute {pair}" for pair in named_types()))


async def register(client: Client) -> Registration:
    """Every attribute of `search_attributes.ALL` in the client's namespace with its type,
    idempotently: those there with the right type are left; one there with another type refuses
    the whole registration before anything is added (nothing half-registered; the server itself
    would skip it silently); the rest are added in one call and listed again. Temporal Cloud
    adds none through its operator service: there the refusal names the `tcld` command."""
    target = client.service_client.config.target_host
    found = await _listed(client)
    if wrong := [f"{k.name} as {type_name(found[k.name])} where casework needs "
                 f"{type_name(k.indexed_value_type)}" for k in ALL
                 if k.name in found and found[k.name] != k.indexed_value_type]:
        raise Refused(f"namespace {client.namespace!r} has {'; '.join(wrong)}: nothing "
                      "registered (use another namespace, or remove or rename it)")
    missing = [k for k in ALL if k.name not in found]
    if missing:
        if target.rsplit(":", 1)[0].endswith(CLOUD_HOSTS):
            raise Refused(f"{len(missing)} of casework's search attributes missing, and Temporal "
                          f"Cloud adds none through its operator service: "
                          f"{tcld_command(client.namespace)}")
        try:
            await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={k.name: int(k.indexed_value_type) for k in missing}))
        except RPCError as e:
            if e.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
                raise Refused(f"Temporal at {target} does not let this caller add search "
                              f"attributes ({e.message or e.status.name}): an admin adds them "
                              "(temporal operator search-attribute create); on Temporal Cloud: "
                              f"{tcld_command(client.namespace)}") from None
            if e.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
                raise Refused(f"Temporal at {target} refused casework's search attributes for "
                              f"namespace {client.namespace!r} ({e.message}): nothing "
                              "registered") from None
            raise rpc_failure(e, client) from None
        after = await _listed(client)  # another registration racing this one, other types
        if late := [k.name for k in missing if after.get(k.name) != k.indexed_value_type]:
            raise Refused(f"namespace {client.namespace!r}: {', '.join(late)} not registered "
                          "as casework needs them after adding (run casework setup again)")
    return Registration(added=[k.name for k in missing],
                        present=[k.name for k in ALL if k not in missing])


async def _listed(client: Client) -> dict[str, int]:
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
    except RPCError as e:
        raise rpc_failure(e, client) from None
    return {**listed.system_attributes, **listed.custom_attributes}
