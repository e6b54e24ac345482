import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leafAltNames, leafCertificate, loadOrCreateCa } from '../../src/tls/ca';

describe('local CA', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bambucam-ca-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('is created once with private files and loaded the same afterwards', () => {
    const first = loadOrCreateCa(dir);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, 'tls')).mode & 0o777).toBe(0o700);
    for (const f of [first.certPath, first.keyPath]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const again = loadOrCreateCa(dir);
    expect(again.created).toBe(false);
    expect(again.ca.cert).toBe(first.ca.cert);
    expect(new X509Certificate(again.ca.cert).ca).toBe(true);
  });

  test('a leaf is CN=<serial>, signed by the CA, kept while its names hold, reissued when they change', () => {
    const ca = loadOrCreateCa(dir);
    const names = leafAltNames('01P00A000000001', ['printer.lan']);
    expect(names).toEqual(
      expect.arrayContaining(['localhost', '127.0.0.1', '01P00A000000001', 'printer.lan']),
    );
    const leaf = leafCertificate(ca, 'garage', '01P00A000000001', names);
    const x509 = new X509Certificate(leaf.cert);
    expect(x509.subject).toBe('CN=01P00A000000001');
    expect(x509.checkIssued(new X509Certificate(ca.ca.cert))).toBe(true);
    expect(statSync(join(dir, 'tls', 'garage.key')).mode & 0o777).toBe(0o600);
    expect(leafCertificate(ca, 'garage', '01P00A000000001', names).key).toBe(leaf.key);
    const renamed = leafCertificate(ca, 'garage', '01P00A000000001', [...names, 'other.lan']);
    expect(renamed.key).not.toBe(leaf.key);
    expect(new X509Certificate(renamed.cert).subjectAltName).toContain('DNS:other.lan');
  });
});
