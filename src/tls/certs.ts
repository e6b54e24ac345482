/**
 * X.509 certificates made locally: RSA keys from Node's crypto (fast, native), certificates
 * assembled with node-forge. Used by the simulator (a printer-like `CN=<serial>` leaf) and by the
 * native re-servers.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type ForgeModule from 'node-forge';

export interface KeyAndCert {
  key: string;
  cert: string;
}

export interface CertRequest {
  commonName: string;
  /** Host names and IP addresses for subjectAltName (none, like a printer, when empty). */
  altNames?: string[];
  /** Sign with this CA; self-signed when absent. */
  issuer?: KeyAndCert;
  isCa?: boolean;
  days?: number;
  issuerName?: string;
}

/**
 * A random 16-byte certificate serial as hex, valid as a DER INTEGER: positive (first byte below
 * 0x80) and minimal (first byte not zero). An odd-length hex string, or one starting `00` followed by
 * a byte below 0x80, encodes as "illegal padding" and OpenSSL then refuses the certificate.
 */
export function certificateSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export function generateCertificate(req: CertRequest): KeyAndCert {
  // node-forge is large and only needed when a certificate is made (once per data_dir): load it then.
  const forge = require('node-forge') as typeof ForgeModule;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = certificateSerial();
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + (req.days ?? 3650) * 24 * 3600 * 1000);
  cert.setSubject([{ name: 'commonName', value: req.commonName }]);
  const issuerCert = req.issuer ? forge.pki.certificateFromPem(req.issuer.cert) : null;
  cert.setIssuer(
    issuerCert
      ? issuerCert.subject.attributes
      : [{ name: 'commonName', value: req.issuerName ?? req.commonName }],
  );
  const extensions: object[] = [{ name: 'basicConstraints', cA: !!req.isCa, critical: !!req.isCa }];
  if (req.isCa)
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true });
  else extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true });
  if (!req.isCa) extensions.push({ name: 'extKeyUsage', serverAuth: true });
  if (req.altNames?.length) {
    extensions.push({
      name: 'subjectAltName',
      altNames: req.altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  }
  cert.setExtensions(extensions);
  const signer = forge.pki.privateKeyFromPem(req.issuer ? req.issuer.key : privateKey);
  cert.sign(signer, forge.md.sha256.create());
  return { key: privateKey, cert: forge.pki.certificateToPem(cert) };
}
