// Real WebSocket clients against a running lotus-rest (e.g. `lotus-rest demo`): ethers' WebSocketProvider and viem's
// webSocket transport, as dapps follow the chain (eth_chainId, eth_blockNumber, eth_subscribe newHeads), and
// js-lotus-client's Node.js provider,
// as Lotus's JavaScript tools do (calls, a permission refusal, and a ChainNotify subscription, then its cancel).
//
// Usage: node clients.mjs BASE_URL ADMIN_TOKEN   (a read token is made with the admin one, POST /v1/auth/tokens)
import assert from 'node:assert/strict'
import { WebSocketProvider } from 'ethers'
import { LotusRPC } from '@filecoin-shipyard/lotus-client-rpc'
import { NodejsProvider } from '@filecoin-shipyard/lotus-client-provider-nodejs'
import { mainnet } from '@filecoin-shipyard/lotus-client-schema'
import { createPublicClient, webSocket } from 'viem'

const [baseUrl, adminToken] = process.argv.slice(2)
if (!baseUrl || !adminToken) {
  console.error('usage: node clients.mjs BASE_URL ADMIN_TOKEN')
  process.exit(2)
}
const minted = await fetch(`${baseUrl}/v1/auth/tokens`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ Permissions: ['read'] })
})
assert.equal(minted.status, 201, await minted.clone().text())
const readToken = (await minted.json()).Token
const wsUrl = baseUrl.replace(/^http/, 'ws') + '/rpc/v1'
let checks = 0
const check = (name) => { checks += 1; console.log(`ok ${checks} - ${name}`) }
const within = (ms, what, promise) => Promise.race([
  promise,
  new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))
])

// ---- ethers ----
{
  const provider = new WebSocketProvider(wsUrl)
  const network = await within(10000, 'getNetwork', provider.getNetwork())
  assert.ok(network.chainId > 0n, `chain id ${network.chainId}`)
  check(`ethers: eth_chainId over the WebSocket (${network.chainId})`)
  const number = await within(10000, 'getBlockNumber', provider.getBlockNumber())
  assert.ok(number > 0, `block number ${number}`)
  check(`ethers: eth_blockNumber (${number})`)
  // provider.on('block') is eth_subscribe newHeads: each notification names a new block.
  const blocks = []
  await within(30000, 'two new blocks from eth_subscribe newHeads', new Promise((resolve) => {
    provider.on('block', (n) => {
      blocks.push(n)
      if (blocks.length === 2) resolve()
    })
  }))
  assert.ok(blocks[1] > blocks[0], `blocks ${blocks}`)
  assert.ok(blocks[0] >= number, `blocks ${blocks} after ${number}`)
  check(`ethers: eth_subscribe newHeads delivered blocks ${blocks.join(', ')}`)
  // Stopping the listener sends eth_unsubscribe; give its reply time to come before closing.
  await provider.removeAllListeners('block')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await provider.destroy()
  check('ethers: stopped listening and closed')
}

// ---- viem ----
{
  const client = createPublicClient({ transport: webSocket(wsUrl) })
  const chainId = await within(10000, 'getChainId', client.getChainId())
  assert.ok(chainId > 0, `chain id ${chainId}`)
  check(`viem: eth_chainId over the WebSocket (${chainId})`)
  // watchBlockNumber on a WebSocket transport subscribes (eth_subscribe newHeads) rather than polling.
  const numbers = []
  let unwatch
  await within(30000, 'two block numbers from eth_subscribe newHeads', new Promise((resolve, reject) => {
    unwatch = client.watchBlockNumber({
      poll: false,
      onBlockNumber: (n) => {
        numbers.push(n)
        if (numbers.length === 2) resolve()
      },
      onError: reject
    })
  }))
  assert.ok(numbers[1] > numbers[0], `numbers ${numbers}`)
  check(`viem: watchBlockNumber over eth_subscribe delivered ${numbers.join(', ')}`)
  unwatch()
  const socket = await client.transport.getRpcClient()
  socket.close()
}

// ---- js-lotus-client ----
{
  // The provider sends the token as `?token=`, as Lotus accepts it from browsers.
  const read = new LotusRPC(new NodejsProvider(wsUrl, { token: readToken }), { schema: mainnet.fullNode })
  const head = await within(10000, 'ChainHead', read.chainHead())
  assert.ok(head.Height > 0 && head.Cids.length > 0, JSON.stringify(head).slice(0, 200))
  check(`js-lotus-client: ChainHead (height ${head.Height})`)
  const version = await within(10000, 'Version', read.version())
  assert.ok(typeof version.Version === 'string', JSON.stringify(version))
  check(`js-lotus-client: Version (${version.Version})`)
  // A write method with a read token: Lotus's own refusal.
  await assert.rejects(within(10000, 'WalletNew', read.walletNew('secp256k1')), /missing permission to invoke 'WalletNew' \(need 'write'\)/)
  check("js-lotus-client: a read token is refused WalletNew with Lotus's words")
  // ChainNotify: the current head, then applied tipsets; then cancelled.
  const changes = []
  let resolveTwo
  const two = new Promise((resolve) => { resolveTwo = resolve })
  const [cancel, subscribed] = read.chainNotify((batch) => {
    changes.push(...batch)
    if (changes.some((c) => c.Type === 'apply')) resolveTwo()
  })
  await within(10000, 'ChainNotify subscribe', subscribed)
  await within(30000, 'a ChainNotify apply', two)
  assert.equal(changes[0].Type, 'current')
  assert.equal(changes.filter((c) => c.Type === 'current').length, 1, 'one current, first')
  assert.ok(changes.find((c) => c.Type === 'apply').Val.Height > changes[0].Val.Height)
  check(`js-lotus-client: ChainNotify gave current then apply (${changes.map((c) => `${c.Type} ${c.Val.Height}`).join(', ')})`)
  await within(10000, 'ChainNotify cancel (xrpc.ch.close)', cancel())
  check('js-lotus-client: ChainNotify cancelled, the channel closed')
  await read.destroy()

  const admin = new LotusRPC(new NodejsProvider(wsUrl, { token: adminToken }), { schema: mainnet.fullNode })
  const address = await within(10000, 'WalletNew', admin.walletNew('secp256k1'))
  assert.match(address, /^[ft]1/)
  check(`js-lotus-client: an admin token makes a wallet address (${address})`)
  await admin.destroy()
}

// ---- a bad token is refused at the handshake ----
{
  const bad = new LotusRPC(new NodejsProvider(wsUrl, { token: 'not-a-token' }), { schema: mainnet.fullNode })
  await assert.rejects(within(10000, 'ChainHead with a bad token', bad.chainHead()))
  check('js-lotus-client: a bad token is refused')
  await bad.destroy().catch(() => {})
}

console.log(`all ${checks} WebSocket client checks passed`)
process.exit(0)
