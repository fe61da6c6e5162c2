import { describe, expect, it } from 'vitest';
import { addressRefusal, readUriRefusal, networkUrlRefusal, type ReadPolicy } from '../../core/uri-policy.js';

const policy: ReadPolicy = { roots: ['/srv/models', '/data/sets/'], schemes: ['file', 'https'], hosts: null, privateNetworks: [] };
const rule = (uri: string, p: ReadPolicy = policy) => readUriRefusal(uri, p)?.rule ?? 'allowed';

describe('the read allow-list (static rules)', () => {
  it('reads files only under the configured roots, judged after the URL parser removed `.` and `..`', () => {
    expect(rule('file:///srv/models/credit/model.onnx')).toBe('allowed');
    expect(rule('file:///data/sets/reference.csv')).toBe('allowed');
    expect(rule('file://localhost/srv/models/m.bin')).toBe('allowed');
    expect(rule('file:///etc/passwd')).toBe('read-roots');
    expect(rule('file:///etc/shadow')).toBe('read-roots');
    expect(rule('file:///proc/self/environ')).toBe('read-roots');
    expect(rule('file:///dev/zero')).toBe('read-roots');
    expect(rule('file:///srv/models/../../etc/passwd')).toBe('read-roots');
    expect(rule('file:///srv/models/%2e%2e/%2E%2E/etc/passwd')).toBe('read-roots');
    expect(rule('file:///srv/models/./a/../../models-evil/x')).toBe('read-roots');
    // A sibling whose name starts like a root is not inside it.
    expect(rule('file:///srv/models-evil/model.onnx')).toBe('read-roots');
    expect(rule('file:///srv/models')).toBe('allowed');
  });

  it('refuses encoded slashes and NULs, file URIs naming a host, and unparsable URIs', () => {
    expect(rule('file:///srv/models/..%2f..%2fetc/passwd')).toBe('malformed');
    expect(rule('file:///srv/models/x%00.bin')).toBe('malformed');
    expect(rule('file://fileserver/srv/models/x')).toBe('file-host');
    expect(rule('not a uri')).toBe('malformed');
  });

  it('reads only the configured schemes, and passes references Steward never opens', () => {
    expect(rule('http://example.com/model.onnx')).toBe('scheme');
    expect(rule('https://example.com/model.onnx')).toBe('allowed');
    expect(rule('s3://lake/credit/reference.parquet')).toBe('allowed');
    expect(rule('file:///srv/models/m', { ...policy, schemes: ['https'] })).toBe('scheme');
  });

  it('limits http(s) to the configured hosts when there are some', () => {
    const hosts: ReadPolicy = { ...policy, hosts: ['models.example.com', '*.blob.example.net'] };
    expect(rule('https://models.example.com/a', hosts)).toBe('allowed');
    expect(rule('https://MODELS.example.com./a', hosts)).toBe('allowed');
    expect(rule('https://acct.blob.example.net/a', hosts)).toBe('allowed');
    expect(rule('https://blob.example.net/a', hosts)).toBe('read-hosts');
    expect(rule('https://evil-blob.example.net/a', hosts)).toBe('read-hosts');
    expect(rule('https://example.org/a', hosts)).toBe('read-hosts');
  });

  it.each([
    ['https://127.0.0.1/x', 'loopback'],
    ['https://127.255.0.9:8443/x', 'loopback'],
    ['https://0.0.0.0/x', 'unspecified'],
    ['https://10.1.2.3/x', 'private'],
    ['https://172.16.0.1/x', 'private'],
    ['https://192.168.1.1/x', 'private'],
    ['https://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['https://100.64.0.1/x', 'carrierGradeNat'],
    ['https://[::1]/x', 'loopback'],
    ['https://[::]/x', 'unspecified'],
    ['https://[fe80::1]/x', 'linkLocal'],
    ['https://[fd00::1]/x', 'uniqueLocal'],
    ['https://[::ffff:127.0.0.1]/x', 'loopback'],
    ['https://[::ffff:a9fe:a9fe]/x', 'linkLocal'],
    ['https://[::127.0.0.1]/x', 'ipv4Compatible'],
    ['https://[64:ff9b::7f00:1]/x', 'rfc6052'],
    // Decimal, octal, hex and short forms: the URL parser normalises them to 127.0.0.1.
    ['https://2130706433/x', 'loopback'],
    ['https://017700000001/x', 'loopback'],
    ['https://0x7f.1/x', 'loopback'],
    ['https://127.1/x', 'loopback'],
    ['https://0/x', 'unspecified'],
  ])('refuses %s, a %s address', (uri, range) => {
    const refusal = readUriRefusal(uri, policy);
    expect(refusal?.rule).toBe('private-address');
    expect(refusal?.problem).toContain(`is a ${range} address`);
    expect(refusal?.problem).toContain('STEWARD_ALLOW_PRIVATE_NETWORKS');
  });

  it('reaches public addresses, and private ones only when configured', () => {
    expect(rule('https://93.184.216.34/x')).toBe('allowed');
    expect(rule('https://[2606:2800:220:1:248:1893:25c8:1946]/x')).toBe('allowed');
    const lab: ReadPolicy = { ...policy, privateNetworks: ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'] };
    expect(rule('https://10.20.30.40/x', lab)).toBe('allowed');
    expect(rule('https://127.0.0.1/x', lab)).toBe('allowed');
    expect(rule('https://[::ffff:127.0.0.1]/x', lab)).toBe('allowed');
    expect(rule('https://127.0.0.2/x', lab)).toBe('private-address');
    expect(rule('https://[fd12::1]/x', lab)).toBe('allowed');
    expect(rule('https://192.168.0.1/x', lab)).toBe('private-address');
    expect(rule('https://192.168.0.1/x', { ...policy, privateNetworks: 'all' })).toBe('allowed');
  });

  it('judges resolved addresses the same way, IPv4-mapped ones as the IPv4 address they carry', () => {
    expect(addressRefusal('127.0.0.1', policy)?.rule).toBe('private-address');
    expect(addressRefusal('::ffff:127.0.0.1', policy)?.rule).toBe('private-address');
    expect(addressRefusal('fe80::1%eth0', policy)?.rule).toBe('private-address');
    expect(addressRefusal('8.8.8.8', policy)).toBeNull();
  });

  it('leaves host names to the reader, which resolves them', () => {
    expect(rule('https://localhost/x')).toBe('allowed');
    expect(networkUrlRefusal(new URL('http://localhost:8080/hook'), policy)).toBeNull();
    expect(networkUrlRefusal(new URL('http://[::1]:8080/hook'), policy)?.rule).toBe('private-address');
    expect(networkUrlRefusal(new URL('ftp://example.com/hook'), policy)?.rule).toBe('scheme');
  });
});
