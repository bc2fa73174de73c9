// Preloaded with `node --import ./loopback.mjs ...`: every TCP listen of
// the process binds 127.0.0.1, whatever host it asked for (none, '::',
// '0.0.0.0', 'localhost', another address). The MCP conformance suite's
// test servers call listen(0) on all interfaces; scripts/conformance.sh
// and spec/conformance_spec.lua run the suite with this module so that
// nothing it starts is reachable from another address.
//
// Every listen of http.Server, https.Server, express's app.listen and
// net.Server ends in net.Server.prototype._listen2 (Node's
// setupListenHandle, `_listen2` being its long-standing alias, which
// listenInCluster calls), with the address to bind, or null for "all
// interfaces". This replaces the address there, not in listen()'s
// arguments: a listen(0) without a host binds synchronously, and the suite
// reads server.address().port right after it, so the binding must stay
// synchronous. A Unix socket (port -1), an inherited fd or handle, and a
// cluster worker (whose primary binds) are left alone.
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const setupListenHandle = net.Server.prototype._listen2;
if (typeof setupListenHandle !== 'function') {
  throw new Error('loopback.mjs: net.Server.prototype._listen2 is gone in this Node; update the module');
}

net.Server.prototype._listen2 = function confinedListen(address, port, addressType, backlog, fd, flags) {
  const tcp = typeof port === 'number' && port >= 0 && addressType !== -1;
  if (tcp && !this._handle && typeof fd !== 'number') {
    address = LOOPBACK;
    addressType = 4;
    flags = (flags || 0) & ~1; // no IPV6ONLY (UV_TCP_IPV6ONLY) on an IPv4 address
  }
  return setupListenHandle.call(this, address, port, addressType, backlog, fd, flags);
};
