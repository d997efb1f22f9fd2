/**
 * One port-forward stream to a pod through the API server, as `kubectl port-forward` opens it: a
 * WebSocket to the pods/portforward subresource with the `v4.channel.k8s.io` subprotocol (the API
 * server hands the upgrade to the node's kubelet). Each WebSocket carries one TCP connection: two
 * channels per port, data (0) and error (1); every message starts with its channel byte, and the
 * kubelet first writes the port number (2 bytes, little endian) on each channel.
 *
 * A small RFC 6455 client over node:http(s) (no WebSocket dependency): the request carries the
 * context's credentials through Kube.authorize, as the service-proxy requests of verify do.
 */
import {createHash, randomBytes} from 'node:crypto'
import http from 'node:http'
import https, {type RequestOptions} from 'node:https'
import type {Socket} from 'node:net'
import {Duplex} from 'node:stream'
import {OperationError} from '../lib/errors.js'
import type {Kube} from './api.js'

export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io'
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const DATA_CHANNEL = 0
const ERROR_CHANNEL = 1

const OPCODE = {continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa} as const

/** The API server (or the kubelet behind it) refused the forward; `status` is the HTTP status when there was one. */
export class PortForwardError extends OperationError {
  readonly status?: number
  constructor(message: string, status?: number) {
    super(message, {code: 'port-forward-failed'})
    this.status = status
  }
}

export interface PortForwardTarget {
  namespace: string
  pod: string
  port: number
}

/** Open one forwarded connection to `port` of the pod; resolves once the API server has upgraded it. */
export async function openPortForward(kube: Kube, target: PortForwardTarget, signal?: AbortSignal): Promise<PortForwardStream> {
  const url = new URL(`${kube.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/portforward?ports=${target.port}`)
  const key = randomBytes(16).toString('base64')
  const options: RequestOptions = {
    method: 'GET',
    agent: false,
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': key,
      'sec-websocket-protocol': PORT_FORWARD_PROTOCOL,
    },
    ...(signal ? {signal} : {}),
  }
  await kube.authorize(options)
  const transport = url.protocol === 'https:' ? https : http
  return new Promise<PortForwardStream>((resolve, reject) => {
    const request = transport.request(url, options)
    request.on('upgrade', (response, socket, head) => {
      const expected = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64')
      if (response.headers['sec-websocket-accept'] !== expected) {
        socket.destroy()
        return reject(new PortForwardError(`port-forward to ${target.namespace}/${target.pod}: the API server's WebSocket handshake is invalid`))
      }
      const stream = new PortForwardStream(socket, target)
      if (head.length > 0) stream.receive(head)
      resolve(stream)
    })
    request.on('response', (response) => {
      // Not upgraded: the API server says why (a Status object) — pod not found, not running, forbidden.
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk.slice(0, 2000)))
      response.on('end', () => {
        let message = body.trim().slice(0, 300)
        try {
          message = (JSON.parse(body) as {message?: string}).message ?? message
        } catch {
          // not a Status object: keep the text
        }
        const status = response.statusCode ?? 0
        reject(new PortForwardError(`port-forward to ${target.namespace}/${target.pod}:${target.port} refused (HTTP ${status})${message ? `: ${message}` : ''}`, status))
      })
    })
    request.on('error', (error) => reject(signal?.aborted ? error : new PortForwardError(`port-forward to ${target.namespace}/${target.pod}: ${error.message}`)))
    request.end()
  })
}

/**
 * The forwarded connection as a byte stream: what is written goes to the pod's port, what the pod
 * sends is read. An error message from the kubelet (e.g. nothing listens on the port) destroys the
 * stream with that message; the kubelet closing the WebSocket ends it.
 */
export class PortForwardStream extends Duplex {
  private pending: Buffer = Buffer.alloc(0)
  private fragments: Buffer[] = []
  /** Port-number bytes still to drop at the start of each channel. */
  private readonly prefix = [2, 2]
  private errorText = ''
  private closeSent = false

  constructor(
    private readonly socket: Socket,
    readonly target: PortForwardTarget,
  ) {
    super()
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('end', () => this.finish())
    socket.on('close', () => this.finish())
    socket.on('error', (error) => this.destroy(error))
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback(new PortForwardError(`port-forward to ${this.target.namespace}/${this.target.pod}: the connection is closed`))
    const payload = Buffer.concat([Buffer.from([DATA_CHANNEL]), chunk])
    if (this.socket.write(frame(OPCODE.binary, payload))) callback()
    else this.socket.once('drain', () => callback())
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The v4 protocol cannot half-close: the local side is done, so the connection is.
    this.sendClose()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendClose()
    this.socket.destroy()
    callback(error)
  }

  /** Bytes from the API server: WebSocket frames, possibly split or joined anyhow. */
  receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    for (;;) {
      const parsed = parseFrame(this.pending)
      if (!parsed) return
      this.pending = this.pending.subarray(parsed.size)
      this.onFrame(parsed.fin, parsed.opcode, parsed.payload)
      if (this.destroyed) return
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.ping:
        if (!this.socket.destroyed) this.socket.write(frame(OPCODE.pong, payload))
        return
      case OPCODE.pong:
        return
      case OPCODE.close:
        this.sendClose()
        this.socket.end()
        this.finish()
        return
      case OPCODE.binary:
      case OPCODE.text:
      case OPCODE.continuation:
        this.fragments.push(payload)
        if (!fin) return
        this.onMessage(Buffer.concat(this.fragments))
        this.fragments = []
        return
      default:
        this.destroy(new PortForwardError(`port-forward to ${this.target.namespace}/${this.target.pod}: unexpected WebSocket opcode ${opcode}`))
    }
  }

  private onMessage(message: Buffer): void {
    if (message.length === 0) return
    const channel = message[0]!
    let data = message.subarray(1)
    if (channel !== DATA_CHANNEL && channel !== ERROR_CHANNEL) return
    const skip = Math.min(this.prefix[channel]!, data.length)
    this.prefix[channel]! -= skip
    data = data.subarray(skip)
    if (data.length === 0) return
    if (channel === ERROR_CHANNEL) {
      this.errorText += data.toString('utf8')
      this.destroy(new PortForwardError(this.errorText.trim()))
      return
    }
    if (!this.push(data)) this.socket.pause()
  }

  private finish(): void {
    if (this.readableEnded || this.destroyed) return
    this.push(null)
    if (!this.writableEnded) this.end()
  }

  private sendClose(): void {
    if (this.closeSent || this.socket.destroyed || !this.socket.writable) return
    this.closeSent = true
    // 1000: normal closure.
    this.socket.write(frame(OPCODE.close, Buffer.from([0x03, 0xe8])))
  }
}

/** A client frame: final, masked (RFC 6455 §5.3 requires clients to mask). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
  header[0] = 0x80 | opcode
  if (length < 126) header[1] = 0x80 | length
  else if (length < 65536) {
    header[1] = 0x80 | 126
    header.writeUInt16BE(length, 2)
  } else {
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  const mask = randomBytes(4)
  const masked = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!
  return Buffer.concat([header, mask, masked])
}

/** One frame from the start of `buffer`, or undefined when it is not complete yet. */
function parseFrame(buffer: Buffer): {fin: boolean; opcode: number; payload: Buffer; size: number} | undefined {
  if (buffer.length < 2) return undefined
  const fin = (buffer[0]! & 0x80) !== 0
  const opcode = buffer[0]! & 0x0f
  const masked = (buffer[1]! & 0x80) !== 0
  let length = buffer[1]! & 0x7f
  let offset = 2
  if (length === 126) {
    if (buffer.length < 4) return undefined
    length = buffer.readUInt16BE(2)
    offset = 4
  } else if (length === 127) {
    if (buffer.length < 10) return undefined
    length = Number(buffer.readBigUInt64BE(2))
    offset = 10
  }
  const maskKey = masked ? buffer.subarray(offset, offset + 4) : undefined
  if (masked) offset += 4
  if (buffer.length < offset + length) return undefined
  let payload = buffer.subarray(offset, offset + length)
  if (maskKey) {
    payload = Buffer.from(payload)
    for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ maskKey[i & 3]!
  }
  return {fin, opcode, payload, size: offset + length}
}
