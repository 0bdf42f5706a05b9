"""The aiocoap driver (transports/drivers/PROTOCOL.md): aiocoap used as an application uses it,
with one UDP transport only, the one COAPMX_IUT names (aiocoap-simple6, aiocoap-udp6 or
aiocoap-simplesocketserver). Each endpoint is a Context of its own; every command is handled
on the asyncio loop, requests as tasks of their own, so that nothing blocks retransmissions.
"""

import asyncio
import json
import logging
import os
import socket
import sys

# Every cell starts a fresh interpreter: compiling aiocoap each time costs more than the cell.
# With a cache folder of the harness's (-X pycache_prefix, in the PICS) the compiled modules
# are kept there, even where PYTHONDONTWRITEBYTECODE is set; an aiocoap checkout stays as it is.
if sys.pycache_prefix:
    sys.dont_write_bytecode = False

import aiocoap  # noqa: E402
import aiocoap.error  # noqa: E402
import aiocoap.resource  # noqa: E402
from aiocoap.numbers import constants  # noqa: E402
from aiocoap.optiontypes import BlockOption  # noqa: E402

BlockwiseTuple = BlockOption.BlockwiseTuple

IUTS = {
    "aiocoap-simple6": "simple6",
    "aiocoap-udp6": "udp6",
    "aiocoap-simplesocketserver": "simplesocketserver",
}
TRANSPORT = IUTS.get(os.environ.get("COAPMX_IUT", ""), "")
METHODS = {"GET": aiocoap.GET, "POST": aiocoap.POST, "PUT": aiocoap.PUT, "DELETE": aiocoap.DELETE}
GROUPS = ("224.0.1.187", "ff02::fd", "ff05::fd")

endpoints = {}
requests = {}  # id -> asyncio.Task
non_lifetime_s = 145.0


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def error_of(exc):
    """aiocoap's exceptions in the protocol's terms, its own words kept."""
    name = type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    message = "%s: %s" % (name, exc)
    if cause is not None:
        message += " <- %s: %s" % (type(cause).__name__, cause)
    errno_name = None
    if isinstance(cause, OSError) and cause.errno:
        errno_name = __import__("errno").errorcode.get(cause.errno)
    if isinstance(exc, OSError) and exc.errno:
        errno_name = __import__("errno").errorcode.get(exc.errno)
    if isinstance(exc, aiocoap.error.ResolutionError):
        code = "ERESOLVE"
    elif isinstance(exc, aiocoap.error.ConToMulticast):
        code = "ECONMULTICAST"
    elif isinstance(exc, (aiocoap.error.TimeoutError, asyncio.TimeoutError)):
        code = "ETIMEOUT"
    elif isinstance(exc, aiocoap.error.LibraryShutdown):
        code = "ESHUTDOWN"
    elif isinstance(exc, aiocoap.error.MessageError):
        code = "ERESET"  # tokenmanager: the request was answered with an RST
    elif isinstance(exc, (ValueError, TypeError, aiocoap.error.MissingRemoteError)):
        # MissingRemoteError: no transport takes the URI (an http:// one, say)
        code = "EINVAL"
    else:
        code = "ENETWORK"
    error = {"code": code, "message": message}
    if errno_name:
        error["errno"] = errno_name
    return error


def is_group(uri):
    """What the application knows: the URI names a multicast address."""
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(uri).hostname or ""
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_multicast
    except ValueError:
        return False


def sockaddr_of(remote):
    """The socket address behind a remote, where the transport keeps one."""
    sockaddr = getattr(remote, "sockaddr", None) or getattr(remote, "address", None)
    if not isinstance(sockaddr, tuple):
        sockaddr = None
    if sockaddr is None:
        transport = getattr(remote, "_transport", None)
        if transport is not None:
            sockaddr = transport.get_extra_info("peername")
    return sockaddr


def address_of(remote, local=False):
    try:
        hostinfo = remote.hostinfo_local if local else remote.hostinfo
    except Exception:  # simple6 and others cannot always tell the local end
        return None
    result = {"hostinfo": hostinfo}
    sockaddr = None if local else sockaddr_of(remote)
    if sockaddr:
        host = sockaddr[0]
        if len(sockaddr) == 4 and sockaddr[3]:
            try:
                host = "%s%%%s" % (host.split("%")[0], socket.if_indextoname(sockaddr[3]))
            except OSError:
                pass
        result["address"] = host
        result["port"] = sockaddr[1]
    return result


class StandardReply(aiocoap.resource.Resource):
    """Serves every path: GET "served <n>", PUT/POST "got <N> bytes" (PROTOCOL.md)."""

    def __init__(self, endpoint):
        super().__init__()
        self.endpoint = endpoint
        self.served = 0

    async def render(self, request):
        self.served += 1
        event = {
            "event": "served",
            "endpoint": self.endpoint,
            "path": "/".join(request.opt.uri_path),
            "method": str(request.code).split()[-1],
            "type": request.mtype.name,
            "payload_len": len(request.payload),
            "multicast": bool(request.remote.is_multicast_locally),
        }
        peer = address_of(request.remote)
        local = address_of(request.remote, local=True)
        if peer:
            event["peer"] = peer
        if local:
            event["local"] = local
        send(event)
        if request.code == aiocoap.GET:
            return aiocoap.Message(code=aiocoap.CONTENT, payload=b"served %d" % self.served)
        if request.code in (aiocoap.PUT, aiocoap.POST):
            return aiocoap.Message(
                code=aiocoap.CHANGED, payload=b"got %d bytes" % len(request.payload)
            )
        return aiocoap.Message(code=aiocoap.METHOD_NOT_ALLOWED)


async def open_endpoint(cmd):
    number = cmd["endpoint"]
    site = StandardReply(number)
    server = cmd.get("role") == "server"
    bind = cmd.get("bind")
    if "max_sockets" in cmd and TRANSPORT == "simple6":
        # The pool's size has no public setting: it is a class attribute of simple6's pool.
        from aiocoap.transports.simple6 import _DatagramClientSocketpoolSimple6

        _DatagramClientSocketpoolSimple6.max_sockets = cmd["max_sockets"]
    if server and TRANSPORT == "simple6":
        raise ClientOnly("simple6 is a client-only transport")
    if server or TRANSPORT == "simplesocketserver":
        # simplesocketserver is a server transport: a client is one bound to an ephemeral port.
        port = cmd.get("port", 5683 if server else 0)
        multicast = [cmd["groups_interface"]] if cmd.get("groups_interface") else []
        ctx = await aiocoap.Context.create_server_context(
            site,
            bind=(bind, port) if bind is not None else None,
            transports=[TRANSPORT],
            multicast=multicast,
        )
    else:
        ctx = await aiocoap.Context.create_client_context(transports=[TRANSPORT])
        ctx.serversite = site  # role reversal
    endpoints[number] = ctx


class ClientOnly(Exception):
    pass


def emit(rid, event):
    """A request's event, unless the harness cancelled the request."""
    entry = requests.get(rid)
    if entry is not None and not entry["cancelled"]:
        send(event)


def request_message(cmd):
    """The request as an application builds it; aiocoap refuses a malformed URI here."""
    payload = bytes.fromhex(cmd.get("payload_hex", ""))
    tuning = aiocoap.Reliable() if cmd["type"] == "CON" else aiocoap.Unreliable()
    message = aiocoap.Message(
        code=METHODS[cmd["method"]], uri=cmd["uri"], payload=payload, transport_tuning=tuning
    )
    relay = cmd.get("relay_option")
    if relay in (23, 27):  # one block, as a proxy relays it
        value = cmd["relay_value"]
        block = BlockwiseTuple(value >> 4, bool(value & 8), value & 7)
        if relay == 23:
            message.opt.block2 = block
        else:
            message.opt.block1 = block
    return message


async def first_response(request, timeout):
    """request.response within timeout (None: none came). The future is not cancelled:
    aiocoap's Context.shutdown() fails on a request whose response future was cancelled."""
    done, _ = await asyncio.wait({request.response}, timeout=timeout)
    return request.response.result() if done else None


async def run_request(rid, cmd, message):
    ctx = endpoints[cmd["endpoint"]]
    group = is_group(cmd["uri"])
    relay = cmd.get("relay_option")
    request = ctx.request(message, handle_blockwise=relay is None and not group)

    def response_event(response, grouped):
        event = {
            "event": "response",
            "request": rid,
            "code": response.code.dotted,
            "type": response.mtype.name,
            "payload_hex": response.payload.hex(),
        }
        remote = address_of(response.remote)
        local = address_of(response.remote, local=True)
        if remote:
            remote["multicast"] = bool(response.remote.is_multicast)
            event["remote"] = remote
        if local:
            event["local"] = local
        if grouped:
            event["group"] = True
        block = response.opt.block2
        if block is not None:
            event["block2"] = block.block_number << 4 | int(block.more) << 3 | block.size_exponent
        emit(rid, event)

    try:
        if group:
            # aiocoap hands an application one response per request (protocol.py Request:
            # one response future), also for a group.
            response = await first_response(request, cmd.get("collect_ms", 5000) / 1000)
            if response is not None:
                response_event(response, True)
            emit(rid, {"event": "done", "request": rid, "group": True})
            return
        wait = non_lifetime_s if cmd["type"] == "NON" else None
        response = await first_response(request, wait)
        if response is None:
            raise asyncio.TimeoutError("no response to the NON request within NON_LIFETIME")
        response_event(response, False)
        emit(rid, {"event": "done", "request": rid})
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # every outcome of aiocoap's is reported
        emit(rid, {"event": "done", "request": rid, "error": error_of(exc)})
    finally:
        requests.pop(rid, None)


async def shutdown_endpoint(number):
    ctx = endpoints.get(number)
    if ctx is None:
        return
    # Its requests end with LibraryShutdown as the context shuts down; their events come
    # before the reply.
    tasks = [e["task"] for e in requests.values() if e["endpoint"] == number]
    await ctx.shutdown()
    if tasks:
        await asyncio.wait(tasks, timeout=2)
    endpoints[number] = None


async def handle(cmd):
    global non_lifetime_s
    rid = cmd.get("id")
    op = cmd.get("op")
    if op == "hello":
        send({"id": rid, "ok": True, "stack": "aiocoap", "version": aiocoap.meta.version,
              "iuts": list(IUTS)})
    elif op == "config":
        t = cmd["timing"]
        tuning = constants.TransportTuning
        tuning.ACK_TIMEOUT = t["ack_timeout_ms"] / 1000
        tuning.ACK_RANDOM_FACTOR = t["ack_random_factor_milli"] / 1000
        tuning.MAX_RETRANSMIT = t["max_retransmit"]
        # EXCHANGE_LIFETIME is a property: it follows from MAX_LATENCY.
        span = tuning.ACK_TIMEOUT * (2 ** tuning.MAX_RETRANSMIT - 1) * tuning.ACK_RANDOM_FACTOR
        tuning.MAX_LATENCY = max(0.0, (t["exchange_lifetime_ms"] / 1000 - span - tuning.ACK_TIMEOUT) / 2)
        non_lifetime_s = t["non_lifetime_ms"] / 1000
        in_force = constants.TransportTuning()
        send({"id": rid, "ok": True, "timing": {
            "ack_timeout_ms": round(in_force.ACK_TIMEOUT * 1000),
            "ack_random_factor_milli": round(in_force.ACK_RANDOM_FACTOR * 1000),
            "max_retransmit": in_force.MAX_RETRANSMIT,
            "nstart": 1,  # hard-coded: one exchange per remote (messagemanager.py)
            "exchange_lifetime_ms": round(in_force.EXCHANGE_LIFETIME * 1000),
            "non_lifetime_ms": round(non_lifetime_s * 1000),
        }})
    elif op == "open":
        try:
            await open_endpoint(cmd)
        except ClientOnly as exc:
            send({"id": rid, "ok": False, "error": {"code": "ECLIENTONLY", "message": str(exc)}})
            return
        except Exception as exc:
            send({"id": rid, "ok": False, "error": error_of(exc)})
            return
        send({"id": rid, "ok": True})
    elif op == "request":
        if endpoints.get(cmd.get("endpoint")) is None:
            send({"id": rid, "ok": False,
                  "error": {"code": "ESHUTDOWN", "message": "the endpoint is shut down"}})
            return
        try:
            message = request_message(cmd)
            task = asyncio.get_running_loop().create_task(run_request(rid, cmd, message))
        except Exception as exc:
            send({"id": rid, "ok": False, "error": error_of(exc)})
            return
        requests[rid] = {"task": task, "endpoint": cmd["endpoint"], "cancelled": False}
        send({"id": rid, "ok": True})
    elif op == "cancel":
        # aiocoap has no way to call a request off: cancelling its response future makes a
        # later Context.shutdown() fail (InvalidStateError in protocol.py). Its events stop.
        entry = requests.get(cmd.get("request"))
        if entry is not None:
            entry["cancelled"] = True
        send({"id": rid, "ok": True})
    elif op in ("shutdown", "close"):
        await shutdown_endpoint(cmd.get("endpoint"))
        if op == "close":
            endpoints.pop(cmd.get("endpoint"), None)
        send({"id": rid, "ok": True})
    elif op == "sync":
        send({"id": rid, "ok": True})  # the loop has run: whatever fell due is done
    elif op == "quit":
        for number in list(endpoints):
            await shutdown_endpoint(number)
        send({"id": rid, "ok": True})
        raise SystemExit(0)
    else:
        send({"id": rid, "ok": False, "error": {"code": "EUNSUPPORTED", "message": "unknown op %r" % op}})


async def main():
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        try:
            cmd = json.loads(line)
        except ValueError as exc:
            print("driver: a command that is not JSON: %s" % exc, file=sys.stderr)
            continue
        await handle(cmd)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except SystemExit as exc:
        sys.exit(exc.code)
