"""The official MCP Python SDK (`mcp`) against our server, with tokens from the
real authorization server (provider.mjs).

    MCP_URL=http://127.0.0.1:<port>/mcp ISSUER=http://127.0.0.1:<port> .venv/bin/python client.py

Steps (one check each): the SDK's discovery helpers read our 401 challenge, fetch
our protected resource metadata and the provider's metadata; the SDK's
ClientCredentialsOAuthProvider (httpx2 auth) gets a token with resource= from our
metadata inside the Streamable HTTP transport; the client initializes, lists
tools, calls whoami, then calls add_note with its read-only token: our 403
insufficient_scope makes the SDK step up (SEP-2350 scope union) and retry.

Prints "PASS  name" / "FAIL  name: reason" per check; exit 1 if any failed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx2
from mcp import Client
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    extract_field_from_www_auth,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    handle_auth_metadata_response,
    handle_protected_resource_response,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

MCP_URL = os.environ["MCP_URL"]
ISSUER = os.environ["ISSUER"]
PREFIX = f"python-sdk[{os.environ.get('LABEL', 'quickstart')}]:"

passed = 0
failed = 0


async def check(name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
    global passed, failed
    try:
        detail = await fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
        failed += 1
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())[:600]
        if os.environ.get("DEBUG"):
            traceback.print_exc()
        print(f"FAIL  {PREFIX} {name}: {msg}", flush=True)
        return None
    passed += 1
    print(f"PASS  {PREFIX} {name}{f' ({detail})' if detail else ''}", flush=True)
    return detail


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def expect_eq(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Recorder:
    """httpx2 event hooks: every exchange the SDK makes (auth sub-requests included)."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []

    async def on_response(self, response: httpx2.Response) -> None:
        req = response.request
        body = req.content.decode() if req.method == "POST" else ""
        self.log.append(
            {
                "method": req.method,
                "url": str(req.url),
                "status": response.status_code,
                "www": response.headers.get("www-authenticate"),
                "body": body,
            }
        )

    def token_requests(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.log[since:] if e["method"] == "POST" and e["url"].startswith(f"{ISSUER}/token")]

    def summary(self, since: int = 0) -> str:
        return "; ".join(f"{e['method']} {e['url']} {e['status']}" for e in self.log[since:])


async def main() -> int:
    state: dict[str, Any] = {}

    async with httpx2.AsyncClient(timeout=10) as plain:

        async def challenge() -> str:
            res = await plain.post(
                MCP_URL,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"accept": "application/json, text/event-stream"},
            )
            expect_eq(res.status_code, 401, "status of an unauthenticated request")
            state["prm_url"] = extract_resource_metadata_from_www_auth(res)
            expect(state["prm_url"], f"SDK found no resource_metadata in {res.headers.get('www-authenticate')!r}")
            expect_eq(extract_scope_from_www_auth(res), "mcp:read", "scope")
            expect_eq(extract_field_from_www_auth(res, "error"), None, "error")
            return state["prm_url"]

        await check("extract_resource_metadata_from_www_auth reads our 401 challenge", challenge)

        async def prm() -> str:
            urls = build_protected_resource_metadata_discovery_urls(state.get("prm_url"), MCP_URL)
            for url in urls:
                meta = await handle_protected_resource_response(await plain.get(url))
                if meta:
                    state["prm"] = meta
                    expect_eq(str(meta.resource), MCP_URL, "resource")
                    expect_eq([str(a).rstrip("/") for a in meta.authorization_servers], [ISSUER], "authorization_servers")
                    expect_eq(meta.scopes_supported, ["mcp:read", "mcp:write"], "scopes_supported")
                    return url
            raise AssertionError(f"no protected resource metadata at {urls}")

        await check("protected resource metadata discovered and parsed (ProtectedResourceMetadata)", prm)

        async def asm() -> str:
            expect("prm" in state, "no PRM from the previous step")
            server = str(state["prm"].authorization_servers[0])
            urls = build_oauth_authorization_server_metadata_discovery_urls(server, MCP_URL)
            for url in urls:
                ok, meta = await handle_auth_metadata_response(await plain.get(url))
                if meta:
                    expect_eq(str(meta.issuer).rstrip("/"), ISSUER, "issuer")
                    expect("client_credentials" in (meta.grant_types_supported or []), "client_credentials not advertised")
                    return f"{url} -> token_endpoint {meta.token_endpoint}"
                if not ok:
                    break
            raise AssertionError(f"no authorization server metadata at {urls}")

        await check("authorization server metadata discovered and parsed (OAuthMetadata)", asm)

    storage = MemoryStorage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the SDK must not need a deprecated call here
        provider = ClientCredentialsOAuthProvider(
            server_url=MCP_URL,
            storage=storage,
            client_id="interop-client",
            client_secret="interop-secret",
            scope="mcp:read",
            issuer=ISSUER,
        )
    rec = Recorder()
    http = httpx2.AsyncClient(auth=provider, timeout=30, event_hooks={"response": [rec.on_response]})

    async with http:
        client = Client(streamable_http_client(MCP_URL, http_client=http), raise_exceptions=True)

        async def connect() -> str:
            await client.__aenter__()
            state["client"] = client
            tokens = rec.token_requests()
            expect(tokens, f"no token request; exchanges: {rec.summary()}")
            form = parse_qs(tokens[0]["body"])
            expect_eq(tokens[0]["status"], 200, "token endpoint status")
            expect_eq(form.get("grant_type"), ["client_credentials"], "grant_type")
            expect_eq(form.get("resource"), [MCP_URL], "resource parameter (from our PRM)")
            expect(any(e["url"] == MCP_URL and e["status"] == 401 for e in rec.log), "the transport never saw our 401")
            expect(storage.tokens is not None, "no token stored")
            claims = jwt_claims(storage.tokens.access_token)
            expect_eq(claims.get("aud"), MCP_URL, "access token aud")
            info = client.server_info
            return f"server {info.name if info else '?'}, protocol {client.protocol_version}"

        await check("connect: 401 -> discovery -> client_credentials token with resource= -> initialize", connect)

        if "client" in state:

            async def list_tools() -> None:
                res = await client.list_tools()
                expect_eq(sorted(t.name for t in res.tools), ["add_note", "whoami"], "tool names")

            await check("tools/list returns whoami and add_note", list_tools)

            async def whoami() -> str:
                res = await client.call_tool("whoami", {})
                expect(not res.is_error, f"tool error: {res}")
                text = res.content[0].text
                who = json.loads(text)
                expect_eq(who["client_id"], "interop-client", "client_id")
                expect_eq(who["scopes"], ["mcp:read"], "scopes")
                return text

            await check("tools/call whoami returns the client and its scopes", whoami)

            async def step_up() -> str:
                before = len(rec.log)
                res = await client.call_tool("add_note", {"text": "from python"})
                exchanges = rec.log[before:]
                forbidden = [e for e in exchanges if e["status"] == 403]
                expect(forbidden, f"the SDK never saw our 403: {rec.summary(before)}")
                www = forbidden[0]["www"] or ""
                expect('error="insufficient_scope"' in www and 'scope="mcp:read mcp:write"' in www, f"403 challenge: {www}")
                tokens = rec.token_requests(before)
                expect(tokens, f"no new token request after the 403: {rec.summary(before)}")
                scope = parse_qs(tokens[-1]["body"]).get("scope", [""])[0]
                expect(set(scope.split()) >= {"mcp:read", "mcp:write"}, f"step-up token request scope={scope!r}")
                expect(not res.is_error, f"tool error: {res}")
                expect_eq(json.loads(res.content[0].text), {"saved": "from python"}, "add_note result")
                return f'step-up scope="{scope}"'

            await check("add_note: 403 insufficient_scope -> SDK steps up (scope union) -> 200", step_up)

            async def whoami_after() -> str:
                res = await client.call_tool("whoami", {})
                who = json.loads(res.content[0].text)
                expect_eq(sorted(who["scopes"]), ["mcp:read", "mcp:write"], "scopes after step-up")
                return None

            await check("whoami after step-up shows mcp:read and mcp:write", whoami_after)

            try:
                await client.__aexit__(None, None, None)
            except Exception as exc:  # noqa: BLE001
                print(f"INFO  {PREFIX} closing the client raised {type(exc).__name__}: {exc}", flush=True)

        odd = [e for e in rec.log if e["url"] == MCP_URL and e["method"] in ("GET", "DELETE")]
        for e in odd:
            print(f"INFO  {PREFIX} {e['method']} {MCP_URL} answered {e['status']}", flush=True)

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
