"""Smoke test of a Python client generated from openapi/openapi.json by openapi-python-client.

Usage: PYTHONPATH=build/lotus-rest-client python smoke.py BASE_URL ADMIN_TOKEN   (see ../run.sh)

Every call goes through the generated client's typed functions (`lotus_rest_client.api.*.sync_detailed`), and every
answer is checked as the generated model it parses into (`TipSet`, `Actor`, `PageOfString`, `Problem`, ...), not as
raw JSON. The checks are the same as ../typescript/smoke.ts. `mypy --strict` checks this file against the package.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from lotus_rest_client import AuthenticatedClient
from lotus_rest_client.api.actors import get_actor, list_actors
from lotus_rest_client.api.auth import create_auth_token
from lotus_rest_client.api.chain import get_block, get_chain_head, get_tipset_by_height
from lotus_rest_client.api.wallet import create_wallet_key, list_wallet_keys
from lotus_rest_client.models import (
    Actor,
    KeyType,
    NewKey,
    NewToken,
    PageOfString,
    Problem,
    TipSet,
    Token,
    WalletAddress,
)
from lotus_rest_client.types import UNSET, Response, Unset

T = TypeVar("T")


class CheckFailed(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(f"assertion failed: {what}")


def eq(actual: object, expected: object, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def expect(r: Response[Any], status: HTTPStatus, cls: type[T]) -> T:
    """The answer must have this status and have been parsed into this generated model."""
    eq(r.status_code, status, "status")
    if not isinstance(r.parsed, cls):
        raise CheckFailed(f"the {r.status_code} answer parsed into {r.parsed!r}, not a {cls.__name__}")
    return r.parsed


def check_problem(problem: Problem, status: int, code: str, what: str) -> None:
    """A problem document must be the typed `Problem` of the spec with the status of the response it came in."""
    eq(problem.status, status, f"{what}: problem.status")
    eq(problem.code, code, f"{what}: problem.code")
    eq(problem.type_, f"urn:lotus-rest:problem:{code}", f"{what}: problem.type")
    check(problem.title != "", f"{what}: problem.title is empty")
    check(problem.detail != "", f"{what}: problem.detail is empty")


def main(base_url: str, admin_token: str) -> int:
    # Every operation with a `security` requirement takes an AuthenticatedClient in the generated code, even those
    # that also allow anonymous access (`{}`), so reads go through a read-only token that the admin token mints.
    admin = AuthenticatedClient(base_url=base_url, token=admin_token, raise_on_unexpected_status=True)
    state: dict[str, str] = {}
    heads: list[TipSet] = []
    passed = 0
    failed = 0

    def reader() -> AuthenticatedClient:
        token = state.get("read_token", "")
        return AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    def step(name: str, body: Callable[[], str]) -> None:
        nonlocal passed, failed
        try:
            note = body()
            passed += 1
            print(f"ok   {name}" + (f" ({note})" if note else ""), flush=True)
        except Exception as e:  # noqa: BLE001 - a failed step is reported and the others still run
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)

    def mint_read_token() -> str:
        r = create_auth_token.sync_detailed(client=admin, body=NewToken(permissions=["read"]))
        token = expect(r, HTTPStatus.CREATED, Token)
        eq(len(token.token.split(".")), 3, "Token is a JWT")
        eq(token.permissions, ["read"], "Permissions")
        state["read_token"] = token.token
        return ",".join(token.permissions)

    def chain_head() -> str:
        head = expect(get_chain_head.sync_detailed(client=reader()), HTTPStatus.OK, TipSet)
        check(head.height > 10, f"Height {head.height} is not an epoch above 10")
        check(len(head.cids) > 0, "Cids is empty")
        eq(len(head.blocks), len(head.cids), "one block per CID")
        for block in head.blocks:
            eq(block.height, head.height, "block Height")
        heads.append(head)
        return f"height {head.height}, {len(head.cids)} block(s)"

    def tipset_by_height() -> str:
        check(len(heads) == 1, "no head")
        head = heads[0]
        nulls: list[int] = []
        for height in range(head.height - 3, head.height - 13, -1):
            r = get_tipset_by_height.sync_detailed(height, client=reader())
            if r.status_code == HTTPStatus.NOT_FOUND and isinstance(r.parsed, Problem):
                check_problem(r.parsed, 404, "null_round", f"height {height}")
                nulls.append(height)
                continue
            tipset = expect(r, HTTPStatus.OK, TipSet)
            eq(tipset.height, height, "Height")
            check(len(tipset.cids) > 0, "Cids is empty")
            check(tipset.height < head.height, "the tipset is not below the head")
            return f"height {height}" + (f", null rounds {','.join(map(str, nulls))}" if nulls else "")
        raise CheckFailed(f"ten heights below the head were all null rounds: {nulls}")

    def actor() -> str:
        a = expect(get_actor.sync_detailed("t0100", client=reader()), HTTPStatus.OK, Actor)
        check(re.fullmatch(r"[0-9]+", a.balance) is not None, f"Balance {a.balance!r} is not a decimal attoFIL string")
        # The generator names the Cid's "/" property `field_`.
        check(a.code.field_.startswith("b"), f"Code {a.code.field_!r} is not a base32 CID")
        check(a.head.field_ != "", "Head is empty")
        check(a.nonce >= 0, f"Nonce {a.nonce}")
        return f"balance {a.balance}, nonce {a.nonce}"

    def page_actors() -> str:
        seen: list[str] = []
        cursor: str | Unset = UNSET
        pages = 0
        total: int | None = None
        tipset: list[str] | None = None
        while True:
            check(pages < 1000, "more than 1000 pages")
            r = list_actors.sync_detailed(client=reader(), limit=3, cursor=cursor)
            page = expect(r, HTTPStatus.OK, PageOfString)
            pages += 1
            check(len(page.items) <= 3, f"page {pages} has {len(page.items)} items for limit 3")
            total = page.total if total is None else total
            eq(page.total, total, f"page {pages} total")
            key = [c.field_ for c in page.tipset]
            tipset = key if tipset is None else tipset
            eq(key, tipset, f"page {pages} tipset (the list is pinned to one tipset)")
            seen.extend(page.items)
            if page.next_cursor is None or isinstance(page.next_cursor, Unset):
                break
            eq(len(page.items), 3, f"page {pages} is short but has a next_cursor")
            cursor = page.next_cursor
        check(pages >= 2, f"only {pages} page(s): the list did not page")
        eq(len(set(seen)), len(seen), "distinct addresses across pages")
        eq(len(seen), total, "addresses across pages = total")
        check("t0100" in seen, "t0100 is not in the list")
        return f"{len(seen)} actors in {pages} pages, last page without next_cursor"

    def wallet_key_refused() -> str:
        r = create_wallet_key.sync_detailed(client=reader(), body=NewKey(type_=KeyType.SECP256K1))
        problem = expect(r, HTTPStatus.FORBIDDEN, Problem)
        check_problem(problem, 403, "insufficient_permission", "read token")
        return problem.detail

    def wallet_key() -> str:
        r = create_wallet_key.sync_detailed(client=admin, body=NewKey(type_=KeyType.SECP256K1))
        address = expect(r, HTTPStatus.CREATED, WalletAddress).address
        check(re.fullmatch(r"t1[a-z2-7]{39}", address) is not None, f"{address!r} is not a testnet secp256k1 address")
        eq(r.headers.get("Location"), f"/v1/wallet/keys/{address}", "Location")
        listed = expect(list_wallet_keys.sync_detailed(client=admin), HTTPStatus.OK, list)
        check(address in listed, "the new key is not listed")
        return address

    def bad_block() -> str:
        r = get_block.sync_detailed("bafyxx", client=reader())
        problem = expect(r, HTTPStatus.BAD_REQUEST, Problem)
        eq(r.headers.get("Content-Type"), "application/problem+json", "Content-Type")
        check_problem(problem, 400, "invalid_parameter", "bafyxx")
        check("bafyxx" in problem.detail, f"detail does not name the CID: {problem.detail!r}")
        return problem.detail

    step("POST /v1/auth/tokens (admin token) mints a read token: 201", mint_read_token)
    step("GET /v1/chain/head: 200 TipSet", chain_head)
    step(
        "GET /v1/tipsets/{height} below the head: 200 TipSet at that height (404 null_round skipped)", tipset_by_height
    )
    step("GET /v1/actors/{address} t0100: 200 Actor", actor)
    step("GET /v1/actors?limit=3 paged to its end by next_cursor", page_actors)
    step("POST /v1/wallet/keys with the read token: 403 insufficient_permission", wallet_key_refused)
    step("POST /v1/wallet/keys (admin token): 201 WalletAddress + Location, in GET /v1/wallet/keys", wallet_key)
    step("GET /v1/blocks/bafyxx: 400 problem+json invalid_parameter", bad_block)

    print(f"python: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: smoke.py BASE_URL ADMIN_TOKEN", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
