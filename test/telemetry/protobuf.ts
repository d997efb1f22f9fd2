/**
 * The few protobuf wire-format pieces the benchmarks need to hand-encode OTLP requests quickly
 * (varints, tags, length-delimited fields, fixed64): field numbers are those of the OTLP protos.
 */
export const varint = (value: number): Buffer => {
  const bytes: number[] = []
  let v = value
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  bytes.push(v)
  return Buffer.from(bytes)
}
export const tag = (no: number, wire: number): Buffer => varint(no * 8 + wire)
/** A length-delimited field (a message, bytes or a string). */
export const len = (no: number, payload: Buffer): Buffer => Buffer.concat([tag(no, 2), varint(payload.length), payload])
export const str = (no: number, s: string): Buffer => len(no, Buffer.from(s, 'utf8'))
export const uint = (no: number, v: number): Buffer => Buffer.concat([tag(no, 0), varint(v)])
/** A fixed64 field given as raw little-endian bytes (so a sentinel can be patched in later). */
export const raw64 = (no: number, bytes: Buffer): Buffer => Buffer.concat([tag(no, 1), bytes])
export const fixed64 = (no: number, v: bigint): Buffer => raw64(no, u64(v))
/** A KeyValue with a string AnyValue. */
export const kv = (key: string, value: string): Buffer => Buffer.concat([str(1, key), len(2, str(1, value))])
export const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(v)
  return b
}
export const f64 = (v: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(v)
  return b
}
