// The node-coap driver (transports/drivers/PROTOCOL.md): the npm package `coap`, used as an
// application uses it. A client endpoint has node-coap's two kinds of agent, chosen as
// coap.request() chooses (an IPv6 literal takes the udp6 agent, anything else the udp4 one),
// each opening its socket on demand and closing it after its last request. A server is
// coap.createServer on a socket the driver binds (and joins to the groups) itself, as
// node-coap's README shows for a socket of one's own.
'use strict'

const coap = require('coap')
const dgram = require('dgram')
const net = require('net')
const readline = require('readline')

const endpoints = new Map()
const requests = new Map() // id -> {endpoint, req, done}

function send (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail (id, code, message, errno) {
  const error = { code, message: String(message) }
  if (errno) error.errno = errno
  send({ id, ok: false, error })
}

function address (host, port) {
  return { address: host, port }
}

// node-coap's own spelling: rsinfo.address and port, never a hostinfo.
function remoteOf (rsinfo) {
  return address(rsinfo.address, rsinfo.port)
}

function ended (id, error, extra) {
  const r = requests.get(id)
  if (!r || r.done) return
  r.done = true
  requests.delete(id)
  if (r.timer) clearTimeout(r.timer)
  const ev = Object.assign({ event: 'done', request: id }, extra || {})
  if (error) ev.error = error
  send(ev)
}

// What node-coap's errors mean in the protocol's terms.
function errorOf (err) {
  const code = err && err.code
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' ||
      (err && err.syscall === 'getaddrinfo')) {
    return { code: 'ERESOLVE', message: String(err.message || err), errno: code }
  }
  if (err && err.retransmitTimeout !== undefined) { // retry_send.js's RetrySendError
    return { code: 'ETIMEOUT', message: String(err.message) }
  }
  if (err && /Max packet size/.test(String(err.message))) {
    return { code: 'ETOOBIG', message: String(err.message) }
  }
  return { code: 'ENETWORK', message: String((err && err.message) || err), errno: code }
}

function isMulticast (host) {
  if (net.isIPv4(host)) return Number(host.split('.')[0]) >= 224 && Number(host.split('.')[0]) <= 239
  return net.isIPv6(host) && /^ff/i.test(host)
}

function newAgent (type) {
  const agent = new coap.Agent({ type })
  agent.on('error', (err) => process.stderr.write(`driver: agent ${type}: ${err}\n`))
  return agent
}

function standardReply (ep, req, res) {
  ep.served++
  const local = ep.socket ? ep.socket.address() : null
  send({
    event: 'served',
    endpoint: ep.id,
    path: req.url.split('?')[0].replace(/^\//, ''),
    method: req.method,
    type: req._packet && req._packet.confirmable ? 'CON' : 'NON',
    payload_len: req.payload ? req.payload.length : 0,
    peer: remoteOf(req.rsinfo),
    local: local ? address(local.address, local.port) : undefined
  })
  if (req.method === 'GET') {
    res.code = '2.05'
    res.end(`served ${ep.served}`)
  } else if (req.method === 'PUT' || req.method === 'POST') {
    res.code = '2.04'
    res.end(`got ${req.payload ? req.payload.length : 0} bytes`)
  } else {
    res.code = '4.05'
    res.end()
  }
}

function openServer (id, cmd, ep) {
  const bind = cmd.bind || '::'
  const type = net.isIPv4(bind) ? 'udp4' : 'udp6'
  const socket = dgram.createSocket({ type, reuseAddr: true })
  let answered = false
  socket.once('error', (err) => {
    if (answered) return
    answered = true
    fail(id, 'ENETWORK', `bind ${bind}: ${err.message}`, err.code)
  })
  socket.bind(cmd.port || 5683, bind, () => {
    if (cmd.groups_interface) {
      for (const group of type === 'udp4' ? ['224.0.1.187'] : ['ff02::fd', 'ff05::fd', '::ffff:224.0.1.187']) {
        try {
          socket.addMembership(group, type === 'udp4' ? undefined : `::%${cmd.groups_interface}`)
        } catch (err) {
          process.stderr.write(`driver: cannot join ${group}: ${err.message}\n`)
        }
      }
    }
    ep.socket = socket
    ep.server = coap.createServer({ type }, (req, res) => standardReply(ep, req, res))
    ep.server.on('error', (err) => process.stderr.write(`driver: server: ${err}\n`))
    ep.server.listen(socket)
    answered = true
    send({ id, ok: true })
  })
}

function opOpen (id, cmd) {
  const ep = { id: cmd.endpoint, served: 0 }
  endpoints.set(cmd.endpoint, ep)
  if (cmd.role === 'server') return openServer(id, cmd, ep)
  ep.agents = { udp4: newAgent('udp4'), udp6: newAgent('udp6') }
  send({ id, ok: true })
}

// As coap.request(url) parses a URL string (node-coap index.js), with the endpoint's agents.
function parseUrl (uri) {
  const url = new URL(uri)
  let hostname = url.hostname
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1)
  return {
    hostname,
    port: url.port !== '' ? parseInt(url.port) : 5683,
    pathname: url.pathname,
    query: url.search ? url.search.substring(1) : undefined
  }
}

function opRequest (id, cmd) {
  const ep = endpoints.get(cmd.endpoint)
  if (!ep || ep.closed) return fail(id, ep ? 'ESHUTDOWN' : 'EINVAL', 'no such endpoint')
  if (!ep.agents) return fail(id, 'EUNSUPPORTED', 'a node-coap server does not originate requests')
  let params
  try {
    params = parseUrl(cmd.uri)
  } catch (err) {
    return fail(id, 'EINVAL', `${err.code || ''} ${err.message}`.trim())
  }
  if (cmd.type !== 'CON' && cmd.type !== 'NON') {
    return fail(id, 'EINVAL', 'node-coap requests are CON or NON (confirmable: true or false)')
  }
  const multicast = isMulticast(params.hostname)
  const payload = cmd.payload_hex ? Buffer.from(cmd.payload_hex, 'hex') : null
  Object.assign(params, {
    method: cmd.method,
    confirmable: cmd.type === 'CON',
    agent: ep.agents[net.isIPv6(params.hostname) ? 'udp6' : 'udp4'],
    multicast,
    multicastTimeout: cmd.collect_ms || 5000
  })
  const entry = { endpoint: ep, done: false }
  requests.set(id, entry)
  let req
  try {
    req = coap.request(params)
    if (payload && payload.length > 1024) req.setOption('Block1', Buffer.of(6)) // node needs asking
  } catch (err) {
    requests.delete(id)
    return fail(id, 'EINVAL', err.message)
  }
  entry.req = req
  req.on('response', (res) => {
    if (entry.done) return
    if (res.code === '0.00') return ended(id, { code: 'ERESET', message: 'answered with an RST (code 0.00)' })
    send({
      event: 'response',
      request: id,
      code: res.code,
      type: res._packet && res._packet.ack ? 'ACK' : res._packet && res._packet.confirmable ? 'CON' : 'NON',
      payload_hex: Buffer.from(res.payload || []).toString('hex'),
      remote: remoteOf(res.rsinfo),
      local: res.outSocket ? address(res.outSocket.address, res.outSocket.port) : undefined,
      group: multicast || undefined
    })
    if (!multicast) ended(id)
  })
  req.on('error', (err) => ended(id, errorOf(err)))
  req.on('timeout', (err) => ended(id, { code: 'ETIMEOUT', message: String((err && err.message) || 'timeout') }))
  if (multicast) entry.timer = setTimeout(() => ended(id, null, { group: true }), cmd.collect_ms || 5000)
  req.end(payload || undefined)
  send({ id, ok: true })
}

function shutdown (ep) {
  for (const [id, r] of requests) {
    if (r.endpoint !== ep) continue
    if (r.req && r.req.sender) r.req.sender.reset()
    ended(id, { code: 'ESHUTDOWN', message: 'the endpoint was shut down' })
  }
  if (ep.agents) for (const agent of Object.values(ep.agents)) agent.close()
  if (ep.server) ep.server.close()
  if (ep.socket) {
    try { ep.socket.close() } catch (err) { /* already closed by the server */ }
  }
  ep.closed = true
}

function opConfig (id, cmd) {
  const t = cmd.timing || {}
  const ack = t.ack_timeout_ms / 1000
  const factor = t.ack_random_factor_milli / 1000
  const span = ack * (2 ** t.max_retransmit - 1) * factor
  // EXCHANGE_LIFETIME cannot be set: it follows from maxLatency (parameters.js).
  const maxLatency = Math.max(0, (t.exchange_lifetime_ms / 1000 - span - ack) / 2)
  coap.updateTiming({ ackTimeout: ack, ackRandomFactor: factor, maxRetransmit: t.max_retransmit, maxLatency })
  const p = coap.parameters
  send({
    id,
    ok: true,
    timing: {
      ack_timeout_ms: Math.round(p.ackTimeout * 1000),
      ack_random_factor_milli: Math.round(p.ackRandomFactor * 1000),
      max_retransmit: p.maxRetransmit,
      nstart: 0, // parameters.nstart is never read: no limit
      exchange_lifetime_ms: Math.round(p.exchangeLifetime * 1000),
      non_lifetime_ms: Math.round(p.maxRTT * 1000) // a NON request's 'timeout' (retry_send.js)
    }
  })
}

function handle (cmd) {
  const id = cmd.id
  switch (cmd.op) {
    case 'hello':
      return send({ id, ok: true, stack: 'node-coap', version: require('coap/package.json').version, iuts: ['node-coap'] })
    case 'config':
      return opConfig(id, cmd)
    case 'open':
      return opOpen(id, cmd)
    case 'request':
      return opRequest(id, cmd)
    case 'cancel': {
      const r = requests.get(cmd.request)
      if (r) {
        r.done = true
        requests.delete(cmd.request)
        if (r.timer) clearTimeout(r.timer)
        if (r.req && r.req.sender) r.req.sender.reset()
      }
      return send({ id, ok: true })
    }
    case 'shutdown':
    case 'close': {
      const ep = endpoints.get(cmd.endpoint)
      if (ep) shutdown(ep)
      if (cmd.op === 'close') endpoints.delete(cmd.endpoint)
      return send({ id, ok: true })
    }
    case 'sync': // the loop has run: whatever fell due is done
      return send({ id, ok: true })
    case 'quit':
      for (const ep of endpoints.values()) shutdown(ep)
      send({ id, ok: true })
      return process.exit(0)
    default:
      return fail(id, 'EUNSUPPORTED', `unknown op ${cmd.op}`)
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    process.stderr.write(`driver: a command that is not JSON: ${err.message}\n`)
    return
  }
  handle(cmd)
}).on('close', () => process.exit(0))
