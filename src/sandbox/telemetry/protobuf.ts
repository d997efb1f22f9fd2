/**
 * The protobuf wire format, both ways, for the OTLP toolkit (otlp.ts) and the load generators
 * (scripts/bench-*.ts): field writers (varints, tags, length-delimited fields, fixed64/32) and one
 * reader that walks the fields of a message. Message layouts (field numbers) live in otlp.ts.
 */

// ---------------------------------------------------------------- writing

/** A base-128 varint of a non-negative integer up to 2^53 (tags, lengths, enums, counts). */
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
/** A varint of a 64-bit integer; negative int64 values take ten bytes (two's complement, not zigzag). */
export const varint64 = (value: bigint): Buffer => {
  const bytes: number[] = []
  let v = BigInt.asUintN(64, value)
  while (v > 0x7fn) {
    bytes.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  bytes.push(Number(v))
  return Buffer.from(bytes)
}
export const tag = (no: number, wire: number): Buffer => varint(no * 8 + wire)
/** A length-delimited field (a message, bytes or a string). */
export const len = (no: number, payload: Buffer): Buffer => Buffer.concat([tag(no, 2), varint(payload.length), payload])
export const str = (no: number, s: string): Buffer => len(no, Buffer.from(s, 'utf8'))
export const uint = (no: number, v: number): Buffer => Buffer.concat([tag(no, 0), varint(v)])
export const int64 = (no: number, v: bigint): Buffer => Buffer.concat([tag(no, 0), varint64(v)])
/** A fixed64 field given as raw little-endian bytes (so a sentinel can be patched in later). */
export const raw64 = (no: number, bytes: Buffer): Buffer => Buffer.concat([tag(no, 1), bytes])
export const fixed64 = (no: number, v: bigint): Buffer => raw64(no, u64(v))
export const double = (no: number, v: number): Buffer => raw64(no, f64(v))
export const fixed32 = (no: number, v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v)
  return Buffer.concat([tag(no, 5), b])
}
/** A KeyValue with a string AnyValue. */
export const kv = (key: string, value: string): Buffer => Buffer.concat([str(1, key), len(2, str(1, value))])
export const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt.asUintN(64, v))
  return b
}
export const f64 = (v: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(v)
  return b
}

// ---------------------------------------------------------------- reading

/** A malformed message (truncated, or a wire type OTLP never uses). */
export class ProtobufError extends Error {}

export type Field = {no: number; wire: 0; value: bigint} | {no: number; wire: 1; value: Buffer} | {no: number; wire: 2; value: Buffer} | {no: number; wire: 5; value: Buffer}

/** A position in a message. Tags and lengths are read as numbers, varint values as bigints (int64 needs 64 bits). */
class Reader {
  pos = 0
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  /** A varint that fits a number exactly (tags, lengths: always). */
  varint(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.byte()
      result += (byte & 0x7f) * mul
      if (byte < 0x80) return result
      mul *= 128
    }
    throw new ProtobufError('protobuf tag or length over 2^56')
  }

  varint64(): bigint {
    let result = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = this.byte()
      result |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return result
    }
  }

  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated protobuf field')
    const slice = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return slice
  }

  /** Step over a field that is not length-delimited without building its value. */
  skip(wire: number): void {
    if (wire === 0) while (this.byte() >= 0x80);
    else if (wire === 1) this.advance(8)
    else if (wire === 5) this.advance(4)
    else throw new ProtobufError(`unsupported protobuf wire type ${wire}`)
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated protobuf field')
    this.pos += n
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new ProtobufError('truncated protobuf varint')
    return this.buf[this.pos++]!
  }
}

/** The fields of one message, in order, with their values (repeated fields appear once per element). */
export function* fields(buf: Buffer): Generator<Field> {
  const r = new Reader(buf)
  while (!r.done) {
    const key = r.varint()
    const no = Math.floor(key / 8)
    const wire = key & 7
    if (wire === 0) yield {no, wire, value: r.varint64()}
    else if (wire === 1) yield {no, wire, value: r.take(8)}
    else if (wire === 2) yield {no, wire, value: r.take(r.varint())}
    else if (wire === 5) yield {no, wire, value: r.take(4)}
    else throw new ProtobufError(`unsupported protobuf wire type ${wire}`)
  }
}

/**
 * Only the length-delimited fields (messages, strings, bytes) as [field number, bytes], stepping
 * over the rest without decoding it: the fast walk for a sink that counts hundreds of thousands of
 * spans a second.
 */
export function* lengthDelimited(buf: Buffer): Generator<[number, Buffer]> {
  const r = new Reader(buf)
  while (!r.done) {
    const key = r.varint()
    if ((key & 7) === 2) yield [Math.floor(key / 8), r.take(r.varint())]
    else r.skip(key & 7)
  }
}

/** The embedded messages (or bytes, or strings) of field `no`, in order. */
export function* messages(buf: Buffer, no: number): Generator<Buffer> {
  for (const [n, value] of lengthDelimited(buf)) if (n === no) yield value
}
