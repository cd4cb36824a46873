// Smoke test of a TypeScript client generated from openapi/openapi.json (openapi-typescript types + openapi-fetch).
// Usage: node build/smoke.js BASE_URL ADMIN_TOKEN   (see ../run.sh; `npm run generate && npm run build` first)
// Every call goes through the typed client: paths, parameters, bodies, answers and problem documents are typed by
// the generated `paths`/`components`, so a spec change that breaks one of these calls fails `tsc --strict`.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/lotus-rest.js";

type Problem = components["schemas"]["Problem"];
type TipSet = components["schemas"]["TipSet"];

const [baseUrl, adminToken] = process.argv.slice(2);
if (!baseUrl || !adminToken) {
  console.error("usage: node build/smoke.js BASE_URL ADMIN_TOKEN");
  process.exit(2);
}

let passed = 0;
let failed = 0;

function check(cond: boolean, what: string): asserts cond {
  if (!cond) {
    throw new Error(`assertion failed: ${what}`);
  }
}

function eq<T>(actual: T, expected: T, what: string): void {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** A problem document must be the typed `Problem` of the spec with the status of the response it came in. */
function checkProblem(problem: Problem, status: number, code: string, what: string): void {
  eq(problem.status, status, `${what}: problem.status`);
  eq(problem.code, code, `${what}: problem.code`);
  eq(problem.type, `urn:lotus-rest:problem:${code}`, `${what}: problem.type`);
  check(problem.title.length > 0, `${what}: problem.title is empty`);
  check(problem.detail.length > 0, `${what}: problem.detail is empty`);
}

async function step(name: string, body: () => Promise<string>): Promise<void> {
  try {
    const note = await body();
    passed++;
    console.log(`ok   ${name}${note ? ` (${note})` : ""}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const admin = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminToken}` } });
// Reads go through a read-only token that the admin token mints first (also the first write below).
let readToken = "";
const reader = () => createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${readToken}` } });
let head: TipSet | undefined;

await step("POST /v1/auth/tokens (admin token) mints a read token: 201", async () => {
  const { data, error, response } = await admin.POST("/v1/auth/tokens", { body: { Permissions: ["read"] } });
  eq(response.status, 201, "status");
  check(error === undefined && data !== undefined, "no typed body");
  check(data.Token.split(".").length === 3, "Token is not a JWT");
  eq(JSON.stringify(data.Permissions), JSON.stringify(["read"]), "Permissions");
  readToken = data.Token;
  return `${data.Permissions.join(",")}`;
});

await step("GET /v1/chain/head: 200 TipSet", async () => {
  const { data, error, response } = await reader().GET("/v1/chain/head");
  eq(response.status, 200, "status");
  check(error === undefined && data !== undefined, "no typed body");
  check(Number.isInteger(data.Height) && data.Height > 10, `Height ${data.Height} is not an epoch above 10`);
  check(data.Cids.length > 0, "Cids is empty");
  eq(data.Blocks.length, data.Cids.length, "one block per CID");
  for (const block of data.Blocks) {
    eq(block.Height, data.Height, "block Height");
  }
  head = data;
  return `height ${data.Height}, ${data.Cids.length} block(s)`;
});

await step("GET /v1/tipsets/{height} below the head: 200 TipSet at that height (404 null_round skipped)", async () => {
  check(head !== undefined, "no head");
  const nulls: number[] = [];
  for (let height = head.Height - 3; height > head.Height - 13; height--) {
    const { data, error, response } = await reader().GET("/v1/tipsets/{height}", {
      params: { path: { height } },
    });
    if (response.status === 404 && error !== undefined) {
      checkProblem(error, 404, "null_round", `height ${height}`);
      nulls.push(height);
      continue;
    }
    eq(response.status, 200, "status");
    check(error === undefined && data !== undefined, "no typed body");
    eq(data.Height, height, "Height");
    check(data.Cids.length > 0, "Cids is empty");
    // The head's parents chain back to this tipset: the head cannot be at or below it.
    check(data.Height < head.Height, "the tipset is not below the head");
    return `height ${height}${nulls.length ? `, null rounds ${nulls.join(",")}` : ""}`;
  }
  throw new Error(`ten heights below the head were all null rounds: ${nulls.join(",")}`);
});

await step("GET /v1/actors/{address} t0100: 200 Actor", async () => {
  const { data, error, response } = await reader().GET("/v1/actors/{address}", {
    params: { path: { address: "t0100" } },
  });
  eq(response.status, 200, "status");
  check(error === undefined && data !== undefined, "no typed body");
  check(/^[0-9]+$/.test(data.Balance), `Balance ${data.Balance} is not a decimal attoFIL string`);
  check(data.Code["/"].startsWith("b"), `Code ${data.Code["/"]} is not a base32 CID`);
  check(data.Head["/"].length > 0, "Head is empty");
  check(Number.isInteger(data.Nonce) && data.Nonce >= 0, `Nonce ${data.Nonce}`);
  return `balance ${data.Balance}, nonce ${data.Nonce}`;
});

await step("GET /v1/actors?limit=3 paged to its end by next_cursor", async () => {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let total: number | undefined;
  let tipset: string | undefined;
  for (;;) {
    check(pages < 1000, "more than 1000 pages");
    const { data, error, response } = await reader().GET("/v1/actors", {
      params: { query: cursor === undefined ? { limit: 3 } : { limit: 3, cursor } },
    });
    eq(response.status, 200, `page ${pages + 1} status`);
    check(error === undefined && data !== undefined, "no typed body");
    pages++;
    check(data.items.length <= 3, `page ${pages} has ${data.items.length} items for limit 3`);
    total ??= data.total;
    eq(data.total, total, `page ${pages} total`);
    const key = data.tipset.map((c) => c["/"]).join(",");
    tipset ??= key;
    eq(key, tipset, `page ${pages} tipset (the list is pinned to one tipset)`);
    seen.push(...data.items);
    if (data.next_cursor === undefined || data.next_cursor === null) {
      break;
    }
    check(data.items.length === 3, `page ${pages} is short but has a next_cursor`);
    cursor = data.next_cursor;
  }
  check(pages >= 2, `only ${pages} page(s): the list did not page`);
  eq(new Set(seen).size, seen.length, "distinct addresses across pages");
  eq(seen.length, total, "addresses across pages = total");
  check(seen.includes("t0100"), "t0100 is not in the list");
  return `${seen.length} actors in ${pages} pages, last page without next_cursor`;
});

await step("POST /v1/wallet/keys with the read token: 403 insufficient_permission", async () => {
  const { data, error, response } = await reader().POST("/v1/wallet/keys", { body: { Type: "secp256k1" } });
  eq(response.status, 403, "status");
  check(data === undefined && error !== undefined, "no typed problem");
  checkProblem(error, 403, "insufficient_permission", "read token");
  return error.detail;
});

await step("POST /v1/wallet/keys (admin token): 201 WalletAddress + Location, in GET /v1/wallet/keys", async () => {
  const { data, error, response } = await admin.POST("/v1/wallet/keys", { body: { Type: "secp256k1" } });
  eq(response.status, 201, "status");
  check(error === undefined && data !== undefined, "no typed body");
  check(/^t1[a-z2-7]{39}$/.test(data.Address), `Address ${data.Address} is not a testnet secp256k1 address`);
  eq(response.headers.get("Location"), `/v1/wallet/keys/${data.Address}`, "Location");
  const list = await admin.GET("/v1/wallet/keys");
  eq(list.response.status, 200, "list status");
  check(list.error === undefined && list.data !== undefined, "no typed list");
  check(list.data.includes(data.Address), "the new key is not listed");
  return data.Address;
});

await step("GET /v1/blocks/bafyxx: 400 problem+json invalid_parameter", async () => {
  const { data, error, response } = await reader().GET("/v1/blocks/{cid}", { params: { path: { cid: "bafyxx" } } });
  eq(response.status, 400, "status");
  eq(response.headers.get("Content-Type"), "application/problem+json", "Content-Type");
  check(data === undefined && error !== undefined, "no typed problem");
  checkProblem(error, 400, "invalid_parameter", "bafyxx");
  check(error.detail.includes("bafyxx"), `detail does not name the CID: ${error.detail}`);
  return error.detail;
});

console.log(`typescript: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
