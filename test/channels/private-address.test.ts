/**
 * The private-address guard on its own: which addresses it refuses, and the
 * lookup wrapper that checks what a name resolves to. Only classified here,
 * never connected to (the channel tests connect, to 127.0.0.1 only).
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { guardLookup, isPrivateAddress, RefusedAddressError } from '../../src/channels/private-address.js';

describe('isPrivateAddress', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback, top of 127/8'],
    ['::1', 'IPv6 loopback'],
    ['169.254.169.254', 'link-local: cloud metadata'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'IPv6 link-local'],
    ['febf:ffff::1', 'IPv6 link-local, top of fe80::/10'],
    ['10.0.0.1', 'private 10/8'],
    ['10.255.255.255', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12'],
    ['192.168.1.1', 'private 192.168/16'],
    ['fc00::1', 'IPv6 unique local'],
    ['fd12:3456:789a::1', 'IPv6 unique local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network 0/8'],
    ['::', 'IPv6 unspecified'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:192.168.0.1', 'IPv4-mapped private'],
    ['::ffff:0.0.0.0', 'IPv4-mapped unspecified'],
    ['::ffff:100.64.0.1', 'IPv4-mapped CGNAT'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::169.254.169.254', 'NAT64 of metadata'],
    ['64:ff9b::a00:1', 'NAT64 of private 10/8'],
    ['64:ff9b:1::5db8:d822', 'NAT64 local-use prefix: the IPv4 part cannot be located'],
    ['64:ff9b:1:ffff::1', 'NAT64 local-use prefix, top'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback (RFC 6145)'],
    ['::ffff:0:169.254.169.254', 'IPv4-translated metadata'],
    ['::7f00:1', 'IPv4-compatible loopback'],
    ['::127.0.0.1', 'IPv4-compatible loopback, dotted'],
    ['::a9fe:a9fe', 'IPv4-compatible metadata'],
    ['::c0a8:1', 'IPv4-compatible private'],
    ['2002:a9fe:a9fe::1', '6to4 of metadata'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:c0a8:101:1::1', '6to4 of private 192.168/16'],
    ['2001:0:5db8:d822:0:0:80ff:fffe', 'Teredo, client 127.0.0.1 (stored inverted)'],
    ['2001:0:a00:1::5db8:d822', 'Teredo, server 10.0.0.1'],
    ['2001:0:5db8:d822::f5ff:fffe', 'Teredo, client 10.0.0.1 (inverted)'],
    ['fec0::1', 'IPv6 site-local (deprecated, RFC 3879)'],
    ['feff:ffff::1', 'IPv6 site-local, top'],
    ['ff02::1', 'IPv6 multicast, all nodes'],
    ['ff05::1:3', 'IPv6 multicast, site DHCP'],
    ['224.0.0.1', 'IPv4 multicast'],
    ['239.255.255.250', 'IPv4 multicast, SSDP'],
    ['::ffff:224.0.0.1', 'IPv4-mapped multicast'],
    ['198.18.0.1', 'benchmarking 198.18/15'],
    ['198.19.255.255', 'benchmarking, top'],
    ['240.0.0.1', 'reserved 240/4'],
    ['254.255.255.255', 'reserved 240/4'],
    ['255.255.255.255', 'limited broadcast'],
    ['192.0.0.1', 'IETF protocol assignments 192.0.0/24'],
    ['192.0.2.1', 'documentation TEST-NET-1'],
    ['198.51.100.1', 'documentation TEST-NET-2'],
    ['203.0.113.1', 'documentation TEST-NET-3'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['100::1', 'IPv6 discard-only'],
    ['2001:2::1', 'IPv6 benchmarking'],
    ['4000::1', 'IPv6 outside 2000::/3, not allocated'],
    ['fe00::1', 'IPv6 outside 2000::/3, just past fc00::/7'],
    ['fe80::1%eth0', 'IPv6 link-local with a zone'],
    ['localhost', 'not an address: nothing to check'],
    ['', 'not an address'],
  ];
  for (const [address, why] of refused) {
    it(`refuses ${JSON.stringify(address)} (${why})`, () => assert.equal(isPrivateAddress(address), true));
  }

  const allowed: Array<[string, string]> = [
    ['93.184.216.34', 'public IPv4'],
    ['8.8.8.8', 'public IPv4'],
    ['2606:4700::1', 'public IPv6'],
    ['2001:4860:4860::8888', 'public IPv6'],
    ['::ffff:93.184.216.34', 'IPv4-mapped public'],
    ['64:ff9b::5db8:d822', 'NAT64 of a public address'],
    ['11.0.0.1', 'just past 10/8'],
    ['172.15.255.255', 'just below 172.16/12'],
    ['172.32.0.0', 'just past 172.16/12'],
    ['100.63.255.255', 'just below CGNAT'],
    ['100.128.0.0', 'just past CGNAT'],
    ['169.255.0.1', 'just past link-local'],
    ['192.169.0.1', 'just past 192.168/16'],
    ['128.0.0.1', 'just past 127/8'],
    ['2002:5db8:d822::1', '6to4 of a public address'],
    ['::ffff:0:5db8:d822', 'IPv4-translated public address'],
    ['2001:0:5db8:d822:0:0:a247:27dd', 'Teredo, server and client (93.184.216.34 and 93.184.216.34) public'],
    ['2a00:1450:4001:80b::200e', 'public IPv6'],
    ['198.17.255.255', 'just below 198.18/15'],
    ['198.20.0.0', 'just past 198.18/15'],
    ['223.255.255.255', 'just below multicast'],
  ];
  for (const [address, why] of allowed) {
    it(`allows ${address} (${why})`, () => assert.equal(isPrivateAddress(address), false));
  }
});

describe('guardLookup', () => {
  /** A resolver that answers `answer` for every name, in the shape the options ask for. */
  function resolvingTo(...answer: LookupAddress[]): LookupFunction {
    return (_hostname, options, callback) => {
      if (options.all) callback(null, answer);
      else callback(null, answer[0]!.address, answer[0]!.family);
    };
  }
  function lookUp(lookup: LookupFunction, all: boolean): Promise<{ error: Error | null; address: unknown; family?: number }> {
    return new Promise((resolve) => {
      lookup('crm.example.test', { all }, (error, address, family) => resolve({ error, address, family }));
    });
  }
  const PUBLIC_V4 = { address: '93.184.216.34', family: 4 };
  const PUBLIC_V6 = { address: '2606:4700::1', family: 6 };

  it('passes public answers through unchanged, one or all', async () => {
    assert.deepEqual(await lookUp(guardLookup(resolvingTo(PUBLIC_V4)), false), { error: null, address: '93.184.216.34', family: 4 });
    const all = await lookUp(guardLookup(resolvingTo(PUBLIC_V4, PUBLIC_V6)), true);
    assert.deepEqual(all, { error: null, address: [PUBLIC_V4, PUBLIC_V6], family: undefined });
  });

  it('refuses a name that resolves to a private address, naming the address', async () => {
    const { error } = await lookUp(guardLookup(resolvingTo({ address: '169.254.169.254', family: 4 })), false);
    assert.ok(error instanceof RefusedAddressError);
    assert.equal(error.address, '169.254.169.254');
    assert.match(error.message, /\(169\.254\.169\.254\): set allowPrivateNetwork: true on this destination/);
  });

  it('refuses a name when any of its answers is private (the socket may try each)', async () => {
    const { error } = await lookUp(guardLookup(resolvingTo(PUBLIC_V4, { address: '::ffff:10.0.0.7', family: 6 })), true);
    assert.ok(error instanceof RefusedAddressError);
    assert.equal(error.address, '::ffff:10.0.0.7');
  });

  it('passes a resolver error through', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND crm.example.test'), { code: 'ENOTFOUND' });
    const failing: LookupFunction = (_hostname, _options, callback) => callback(notFound, '');
    assert.equal((await lookUp(guardLookup(failing), false)).error, notFound);
  });

  it('uses the system resolver by default: localhost is refused', async () => {
    const error = await new Promise<Error | null>((resolve) => guardLookup()('localhost', { all: true }, resolve));
    assert.ok(error instanceof RefusedAddressError, String(error));
  });
});
