import {generateKeyPairSync, randomBytes, sign} from 'node:crypto'

/**
 * A self-signed X.509 v3 certificate for 127.0.0.1/localhost, made with node:crypto alone (no
 * openssl, no dependency): an ECDSA P-256 key, and the certificate's DER written by a tiny
 * ASN.1 encoder. Enough for a TLS server whose clients skip verification (kubelet_stats with
 * insecure_skip_verify, as the rendered agent config has it).
 */
export function selfSignedCertificate(commonName = 'fake-kubelet', days = 7): {key: string; cert: string} {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'))
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))))
  const now = Date.now()
  const subjectAltName = seq(
    tlv(0x82, Buffer.from('localhost', 'ascii')), // [2] dNSName
    tlv(0x87, Buffer.from([127, 0, 0, 1])), // [7] iPAddress
  )
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // [0] version: v3
    integer(randomBytes(12)),
    ecdsaWithSha256,
    name, // issuer: self
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    publicKey.export({type: 'spki', format: 'der'}),
    tlv(0xa3, seq(seq(oid('2.5.29.17'), tlv(0x04, subjectAltName)))), // [3] extensions
  )
  const signature = sign('sha256', tbs, privateKey) // DER ECDSA-Sig-Value, as X.509 wants
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])))
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n')
  return {
    key: privateKey.export({type: 'pkcs8', format: 'pem'}) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`,
  }
}

// ---------------------------------------------------------------- DER

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length
  let header: number[]
  if (length < 0x80) header = [tag, length]
  else {
    const bytes: number[] = []
    for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff)
    header = [tag, 0x80 | bytes.length, ...bytes]
  }
  return Buffer.concat([Buffer.from(header), content])
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))

/** A non-negative INTEGER: a leading 0x00 keeps the sign bit clear. */
function integer(bytes: Buffer): Buffer {
  let trimmed = bytes
  while (trimmed.length > 1 && trimmed[0] === 0 && trimmed[1]! < 0x80) trimmed = trimmed.subarray(1)
  return tlv(0x02, trimmed[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number)
  const out = [first! * 40 + second!]
  for (const arc of rest) {
    const groups: number[] = []
    for (let n = arc; ; n = Math.floor(n / 128)) {
      groups.unshift((n % 128) | (groups.length > 0 ? 0x80 : 0))
      if (n < 128) break
    }
    out.push(...groups)
  }
  return tlv(0x06, Buffer.from(out))
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z' // YYMMDDHHMMSSZ
  return tlv(0x17, Buffer.from(text, 'ascii'))
}
