"""A thin JSON client over kubernetes-asyncio's ApiClient, with one place for error mapping."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import aiohttp
    from kubernetes_asyncio.client import ApiClient
    from kubernetes_asyncio.client.exceptions import ApiException

    from kubehelm_mcp.kube.watched import WatchedReads

from kubehelm_mcp.errors import (
    ClusterBusy,
    ClusterUnavailable,
    ClusterUnreachable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ToolError,
    UnsupportedMediaType,
)
from kubehelm_mcp.kube.verbs import request_verb
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observation, Observer

JSON_TYPES = {200: "object", 201: "object", 202: "object"}
# Overloaded or restarting: the same request may well succeed a moment later.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"


def _status_message(exc: ApiException, hide_values: bool = False) -> str:
    """The apiserver's own explanation from a Status body, else the HTTP reason."""
    raw = exc.body
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if isinstance(body, str) and body:
        try:
            status = json.loads(body)
        except ValueError:
            return body.strip()[:300]
        if isinstance(status, dict) and status.get("message"):
            details = status.get("details")
            about_secret = hide_values or (isinstance(details, dict) and details.get("kind") in ("Secret", "secrets"))
            return _quoted_values(str(status["message"]), hide=about_secret)
    return str(exc.reason or f"HTTP {exc.status}")


_INVALID_VALUE = re.compile(r'(Invalid value: )"((?:[^"\\]|\\.)*)"')
_DECODER_CONTEXT = re.compile(r"\.\.\.\|.*?\|\.\.\.", re.S)  # Go's JSON decoder quoting the body: ...|x|...
MAX_QUOTED_CHARS = 100


def _quoted_values(message: str, *, hide: bool) -> str:
    """The values the apiserver quotes back: hidden for a Secret (a patch may have put its data
    anywhere), cut to MAX_QUOTED_CHARS otherwise (they repeat the caller's input)."""

    def quoted(match: re.Match[str]) -> str:
        value = match.group(2)
        if hide:
            return f'{match.group(1)}"[REDACTED]"'
        cut = value if len(value) <= MAX_QUOTED_CHARS else f"{value[:MAX_QUOTED_CHARS]}..."
        return f'{match.group(1)}"{cut}"'

    message = _INVALID_VALUE.sub(quoted, message)
    return _DECODER_CONTEXT.sub("...|[REDACTED]|...", message) if hide else message


def _retry_after(exc: ApiException) -> float | None:
    """Retry-After in seconds (the apiserver sends it with 429), else None."""
    value = (getattr(exc, "headers", None) or {}).get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def is_secret_path(path: str) -> bool:
    """Whether a request is about Secrets (their refusals may quote Secret data)."""
    parts = path.split("?", 1)[0].split("/")
    return len(parts) > 2 and "secrets" in parts[2:]


def api_error(exc: ApiException, what: str, *, hide_values: bool = False) -> ToolError:
    """Turn an apiserver refusal into one sentence a user can act on; hide_values: the request was
    about a Secret, so the values the apiserver quotes back are hidden."""
    message = _status_message(exc, hide_values).rstrip(".")
    if exc.status == 404:
        return NotFound(f"{what} was not found ({message}).")
    if exc.status == 401:
        return ClusterUnavailable(
            "The cluster rejected the credentials (401 Unauthorized).",
            hint="Check the kubeconfig user or the token.",
        )
    if exc.status == 403:
        return Forbidden(f"Forbidden: {message}.")
    if exc.status == 409:
        return Conflict(f"Conflict: {message}.")
    if exc.status == 415:
        return UnsupportedMediaType(f"The cluster cannot take this request for {what}: {message}.")
    if exc.status in (400, 422):
        return InvalidInput(f"The cluster refused the request: {message}.")
    if exc.status == 0:
        return ClusterUnreachable(f"The cluster could not be reached: {message}.")
    if exc.status in TRANSIENT_STATUSES:
        return ClusterBusy(
            f"The cluster answered HTTP {exc.status}: {message}.", status=exc.status, retry_after=_retry_after(exc)
        )
    return ToolError(f"The cluster answered HTTP {exc.status}: {message}.")


def _reason(exc: Exception) -> str:
    os_error = getattr(exc, "os_error", None) or (exc if isinstance(exc, OSError) else None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror.lower()
    return "the connection failed"


def _settle_environment(api_client: ApiClient, server: str) -> None:
    """kubernetes-asyncio's HTTP session trusts the environment, so aiohttp looks up ~/.netrc and the
    proxy variables for every request, each in a worker thread: two thread hops, about a third of a
    millisecond per request. Both are settled once here instead: the environment's proxy for this API
    server, as client-go takes HTTPS_PROXY/NO_PROXY (the variables do not change while the server
    runs), and no netrc (a credential no kubeconfig names; aiohttp refuses it beside a bearer token)."""
    import aiohttp
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    rest = api_client.rest_client
    session = getattr(rest, "pool_manager", None)
    if not isinstance(session, aiohttp.ClientSession) or not session.trust_env:
        return
    if not rest.proxy:
        try:
            proxy, auth = get_env_proxy_for_url(URL(server))
        except (LookupError, ValueError):  # no proxy for this server (or none set)
            proxy, auth = None, None
        if proxy is not None:
            rest.proxy = str(proxy)
            if auth is not None:
                rest.proxy_headers = {**(rest.proxy_headers or {}), "Proxy-Authorization": auth.encode()}
    session._trust_env = False  # one of the session's declared attributes (ClientSession.ATTRS)


class KubeApi:
    """JSON requests against one cluster, as one identity."""

    def __init__(
        self,
        api_client: ApiClient,
        server: str,
        observer: Observer = NULL_OBSERVER,
        watched: WatchedReads | None = None,
    ) -> None:
        # Imported with the first connection: kubernetes_asyncio.client loads every API model
        # (~0.3 s), which a server answering tools/list should not wait for.
        from kubernetes_asyncio.client.exceptions import ApiException

        self._client = api_client
        self._api_exception: type[ApiException] = ApiException
        self.server = server
        self._observer = observer
        self._watched = watched
        _settle_environment(api_client, server)

    def credentials(self) -> tuple[str | None, str | None]:
        """The client certificate file and bearer token this client authenticates with: read only
        to name the identity (kube/whoami.py), never returned to a caller."""
        config = self._client.configuration
        token = str((config.api_key or {}).get("BearerToken") or "").removeprefix("Bearer ").strip()
        return (str(config.cert_file) if config.cert_file else None), token or None

    async def get(self, path: str, what: str, *, may_watch: bool = False) -> dict[str, Any]:
        """One object; `may_watch`: a read-only call, which a watch kept on the object may answer
        (kube/watched.py)."""
        if may_watch and self._watched is not None:
            return await self._watched.get(self, path, what)
        obj: dict[str, Any] = await self.request("GET", path, what=what)
        return obj

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        data, _ = await self.request_with_status(
            method, path, query=query, body=body, headers=headers, what=what, timeout=timeout
        )
        return data

    async def request_with_status(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
        timeout: float | None = None,
    ) -> tuple[Any, int]:
        """The decoded body and the HTTP status (201 tells a create from an update)."""
        header_params = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            header_params.setdefault("Content-Type", "application/json")
        async with self._observed(request_verb(method, path, query), path, what or path) as seen:
            data, status, _ = await self._client.call_api(
                path,
                method,
                query_params=list(query),
                header_params=header_params,
                body=body,
                auth_settings=["BearerToken"],
                response_types_map=JSON_TYPES,
                _return_http_data_only=False,
                _request_timeout=timeout,
            )
            seen.status = int(status)
        return data, int(status)

    async def request_raw(
        self, path: str, *, query: Sequence[tuple[str, Any]] = (), what: str | None = None, timeout: float | None = None
    ) -> tuple[int, str]:
        """GET a non-JSON body (logs, /readyz): the status and text, whatever the status."""
        response = await self._open_body("get", path, query, "*/*", what or path, timeout)
        async with self._mapped_errors(what or path), response:
            return response.status, (await response.read()).decode("utf-8", "replace")

    async def _open_body(
        self,
        verb: str,
        path: str,
        query: Sequence[tuple[str, Any]],
        accept: str,
        what: str,
        timeout: float | aiohttp.ClientTimeout | None,
    ) -> aiohttp.ClientResponse:
        """A GET whose body the caller reads: the opening is what the observer sees."""
        async with self._observed(verb, path, what) as seen:
            response: aiohttp.ClientResponse = await self._client.call_api(
                path,
                "GET",
                query_params=list(query),
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
            seen.status = response.status
        return response

    async def request_text(
        self, path: str, *, query: Sequence[tuple[str, Any]] = (), what: str | None = None, timeout: float | None = None
    ) -> str:
        status, text = await self.request_raw(path, query=query, what=what, timeout=timeout)
        if not 200 <= status <= 299:
            raise self._refusal(status, text.encode(), what or path)
        return text

    def _refusal(self, status: int, body: bytes, what: str) -> ToolError:
        """The error for a non-2xx answer to a request whose body was read unchecked."""
        exc = self._api_exception(status=status, reason=f"HTTP {status}")
        exc.body = body
        return api_error(exc, what)

    async def watch(
        self, path: str, query: Sequence[tuple[str, Any]], *, connect_timeout: float, read_timeout: float = 90.0
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The events of a watch on `path` (a collection), decoded, until the apiserver ends it;
        `read_timeout`: the longest silence before the stream counts as lost (bookmarks break it)."""
        import aiohttp  # loaded with kubernetes_asyncio, before any KubeApi exists

        timeout = aiohttp.ClientTimeout(connect=connect_timeout, sock_connect=connect_timeout, sock_read=read_timeout)
        response = await self._open_body("watch", path, query, "application/json", path, timeout)
        async with response:
            if not 200 <= response.status <= 299:
                raise self._refusal(response.status, await response.read(), path)
            pending = b""
            async for chunk in response.content.iter_any():  # one JSON event per line
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)

    @asynccontextmanager
    async def websocket(
        self, path: str, *, query: Sequence[tuple[str, Any]] = (), protocol: str = "v4.channel.k8s.io"
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """A websocket (exec, port-forward) with the client's TLS settings and credentials."""
        import aiohttp  # loaded with kubernetes_asyncio, before any KubeApi exists

        headers: dict[str, str] = {}
        await self._client.update_params_for_auth(headers, [], ["BearerToken"])
        base = str(self._client.configuration.host)
        url = ("wss" + base[5:] if base.startswith("https") else "ws" + base[4:]) + path
        if query:
            url += "?" + urlencode(list(query))
        rest = self._client.rest_client
        async with self._observed("connect", path, path) as seen:  # the handshake, not the stream's life
            try:
                ws = await rest.pool_manager.ws_connect(
                    url, headers=headers, protocols=(protocol,), server_hostname=rest.server_hostname
                )
                seen.status = 101
            except aiohttp.WSServerHandshakeError as exc:
                seen.status = exc.status
                refused = self._api_exception(status=exc.status, reason="the API server refused to open the stream")
                raise api_error(refused, path) from None
        try:
            yield ws
        finally:
            await ws.close()

    @asynccontextmanager
    async def _observed(self, verb: str, path: str, what: str) -> AsyncIterator[Observation]:
        """One request, reported to the observer (metrics, a span) with its errors mapped."""
        with self._observer.kube_request(verb, path.split("?", 1)[0]) as seen:
            async with self._mapped_errors(what, hide_values=is_secret_path(path)):
                try:
                    yield seen
                except self._api_exception as exc:
                    seen.status = exc.status
                    raise

    @asynccontextmanager
    async def _mapped_errors(self, what: str, *, hide_values: bool = False) -> AsyncIterator[None]:
        """Apiserver refusals and connection failures become one sentence a user can act on."""
        import aiohttp  # loaded with kubernetes_asyncio, before any KubeApi exists

        try:
            yield
        except self._api_exception as exc:
            raise api_error(exc, what, hide_values=hide_values) from None
        except aiohttp.ClientSSLError:
            raise ClusterUnavailable(
                f"TLS verification with the API server at {self.server} failed.",
                hint="Check the cluster's certificate authority in the kubeconfig.",
            ) from None
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError) as exc:
            raise ClusterUnreachable(
                f"Cannot reach the Kubernetes API server at {self.server}: {_reason(exc)}.",
                hint="Check that the cluster is running and the kubeconfig points at it.",
            ) from None
        except TimeoutError:  # one request's own timeout (aiohttp's); the call's deadline cancels instead
            raise ClusterUnreachable(f"The API server at {self.server} did not answer in time.") from None
        except aiohttp.ClientError as exc:
            raise ClusterUnavailable(
                f"The request to the API server at {self.server} failed ({exc.__class__.__name__})."
            ) from None

    async def close(self) -> None:
        if self._watched is not None:
            await self._watched.forget(self)
        await self._client.close()
