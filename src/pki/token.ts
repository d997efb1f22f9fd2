/**
 * Cluster identity tokens: a JWT per cluster (subject = its cluster id, claim role = hub|edge),
 * signed with the federation's token key (ES256). The gateway checks them with the collector's
 * oidc extension against a local JWKS file and takes cluster.id / cluster.role from them, so a
 * cluster can only ever send under its own id.
 */
import {calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT, type JWK} from 'jose'

export const TOKEN_ALGORITHM = 'ES256'
export const TOKEN_AUDIENCE = 'otel-gateway'

export interface TokenKey {
  /** Key id (RFC 7638 thumbprint of the public key). */
  kid: string
  /** PKCS#8 PEM; never printed. */
  privateKey: string
  publicJwk: JWK
}

export interface IdentityClaims {
  issuer: string
  subject: string
  role: 'hub' | 'edge'
  expiresAt: Date
  issuedAt?: Date
}

export async function createTokenKey(): Promise<TokenKey> {
  const {privateKey, publicKey} = await generateKeyPair(TOKEN_ALGORITHM, {extractable: true})
  const publicJwk = {...(await exportJWK(publicKey)), alg: TOKEN_ALGORITHM, use: 'sig'}
  const kid = await calculateJwkThumbprint(publicJwk)
  return {kid, privateKey: await exportPKCS8(privateKey), publicJwk: {...publicJwk, kid}}
}

export async function signIdentityToken(key: TokenKey, claims: IdentityClaims): Promise<string> {
  const privateKey = await importPKCS8(key.privateKey, TOKEN_ALGORITHM)
  return new SignJWT({role: claims.role})
    .setProtectedHeader({alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT'})
    .setIssuer(claims.issuer)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(claims.subject)
    .setIssuedAt(claims.issuedAt ?? new Date())
    .setExpirationTime(claims.expiresAt)
    .setJti(crypto.randomUUID())
    .sign(privateKey)
}

/** The JWKS document the gateway's oidc extension reads (public keys only). */
export function jwksDocument(keys: TokenKey[]): string {
  return `${JSON.stringify({keys: keys.map((k) => k.publicJwk)}, null, 2)}\n`
}

/** Check a token the way the gateway does (signature, issuer, audience, expiry). */
export async function verifyIdentityToken(token: string, key: TokenKey, issuer: string): Promise<{subject: string; role: string}> {
  const publicKey = await importJWK(key.publicJwk, TOKEN_ALGORITHM)
  const {payload} = await jwtVerify(token, publicKey, {issuer, audience: TOKEN_AUDIENCE})
  return {subject: String(payload.sub), role: String(payload.role)}
}
