/**
 * X.509 for the federation's small PKI, on @peculiar/x509 and the platform's WebCrypto: ECDSA
 * P-256 keys, a root CA, one issuing CA per cluster, client and server certificates. No ASN.1 is
 * written here; keys travel as PKCS#8 PEM (what Go's crypto/tls reads).
 */
import 'reflect-metadata'
import {webcrypto} from 'node:crypto'
import * as x509 from '@peculiar/x509'

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair
const crypto = webcrypto
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALGORITHM = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'} as const
const DAY_MS = 86_400_000
/** Certificates start a little in the past, so that a clock a few minutes behind accepts them. */
const BACKDATE_MS = 5 * 60_000

export interface KeyMaterial {
  /** The certificate, PEM. */
  cert: string
  /** Its private key, PKCS#8 PEM. Never printed, logged or put in --json. */
  key: string
}

export interface CertificateInfo {
  subject: string
  issuer: string
  /** Hexadecimal serial number. */
  serial: string
  notBefore: string
  notAfter: string
  /** SHA-256 of the DER encoding, hex. */
  fingerprint: string
  isCa: boolean
  dnsNames: string[]
  ipAddresses: string[]
  uris: string[]
}

export type Usage = 'client' | 'server'

export interface LeafRequest {
  commonName: string
  organization?: string
  usage: Usage
  dnsNames?: string[]
  ipAddresses?: string[]
  uris?: string[]
  notAfter: Date
  now?: Date
}

async function newKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
}

async function exportKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

async function importKey(pem: string): Promise<CryptoKey> {
  const [der] = x509.PemConverter.decode(pem)
  if (!der) throw new Error('not a PEM private key')
  return crypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign'])
}

/** 16 random bytes, the top bit clear (a positive serial). */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = bytes[0]! & 0x7f
  return Buffer.from(bytes).toString('hex')
}

/** A distinguished name from values fedobs controls ([a-z0-9-] names and fixed words); commas and quotes are escaped anyway. */
function dn(parts: Array<[string, string | undefined]>): string {
  const escape = (value: string): string => value.replace(/([,+"\\<>;=#])/g, '\\$1')
  return parts
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${escape(v!)}`)
    .join(', ')
}

async function caExtensions(keys: CryptoKeyPair, pathLength: number): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]
}

/** A self-signed root CA (path length 1: it signs issuing CAs, which sign leaves). */
export async function createRootCa(commonName: string, organization: string, validityDays: number, now = new Date()): Promise<KeyMaterial> {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: dn([
      ['CN', commonName],
      ['O', organization],
    ]),
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: await caExtensions(keys, 1),
  })
  return {cert: cert.toString('pem'), key: await exportKey(keys.privateKey)}
}

/** A CA signed by `issuer` that signs leaves only (path length 0). */
export async function createIssuingCa(issuer: KeyMaterial, commonName: string, organization: string, validityDays: number, now = new Date()): Promise<KeyMaterial> {
  const keys = await newKeys()
  const parent = new x509.X509Certificate(issuer.cert)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: dn([
      ['CN', commonName],
      ['O', organization],
    ]),
    issuer: parent.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: capTo(new Date(now.getTime() + validityDays * DAY_MS), parent.notAfter),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: await importKey(issuer.key),
    extensions: [...(await caExtensions(keys, 0)), await x509.AuthorityKeyIdentifierExtension.create(parent)],
  })
  return {cert: cert.toString('pem'), key: await exportKey(keys.privateKey)}
}

/** A client or server certificate signed by `issuer`, with a fresh key. */
export async function issueLeaf(issuer: KeyMaterial, request: LeafRequest): Promise<KeyMaterial> {
  const keys = await newKeys()
  const parent = new x509.X509Certificate(issuer.cert)
  const now = request.now ?? new Date()
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({type: 'dns' as const, value})),
    ...(request.ipAddresses ?? []).map((value) => ({type: 'ip' as const, value})),
    ...(request.uris ?? []).map((value) => ({type: 'url' as const, value})),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: dn([
      ['CN', request.commonName],
      ['O', request.organization],
    ]),
    issuer: parent.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: capTo(request.notAfter, parent.notAfter),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: await importKey(issuer.key),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([request.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  })
  return {cert: cert.toString('pem'), key: await exportKey(keys.privateKey)}
}

function capTo(date: Date, limit: Date): Date {
  return date.getTime() > limit.getTime() ? limit : date
}

/** What a certificate says about itself (no key involved). */
export async function describeCertificate(pem: string): Promise<CertificateInfo> {
  const cert = new x509.X509Certificate(pem)
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
  const basic = cert.getExtension(x509.BasicConstraintsExtension)
  const items = san?.names.items ?? []
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    fingerprint: Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex'),
    isCa: basic?.ca ?? false,
    dnsNames: items.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: items.filter((n) => n.type === 'ip').map((n) => n.value),
    uris: items.filter((n) => n.type === 'url').map((n) => n.value),
  }
}

/** Whether `pem` carries a signature made by the key of `issuerPem` (the chain link, not the dates). */
export async function isSignedBy(pem: string, issuerPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(pem)
  const issuer = new x509.X509Certificate(issuerPem)
  if (cert.issuer !== issuer.subject) return false
  return cert.verify({publicKey: issuer.publicKey, signatureOnly: true})
}

/** Whether the private key `keyPem` belongs to the certificate `certPem`. */
export async function keyMatches(certPem: string, keyPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem)
  const privateKey = await importKey(keyPem)
  const data = crypto.getRandomValues(new Uint8Array(32))
  const signature = await crypto.subtle.sign(ALGORITHM, privateKey, data)
  const publicKey = await crypto.subtle.importKey('spki', cert.publicKey.rawData, ALGORITHM, false, ['verify'])
  return crypto.subtle.verify(ALGORITHM, publicKey, signature, data)
}

/** Every certificate in a PEM bundle, in order. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((pem) => `${pem}\n`) ?? []
}
