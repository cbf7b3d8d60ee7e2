/**
 * A minimal ONNX (protobuf) writer: just enough of onnx.proto to build small inference graphs in
 * TypeScript, with no dependencies. Field numbers follow onnx/onnx.proto (IR version 8).
 */

export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const
export type DataType = (typeof DataType)[keyof typeof DataType]

export interface Tensor {
  name: string
  dataType: DataType
  dims: readonly number[]
  /** Little-endian element bytes (`raw_data`). */
  raw: Uint8Array
}

export interface Node {
  op: string
  inputs: readonly string[]
  outputs: readonly string[]
  attributes?: Readonly<Record<string, number | readonly number[]>>
}

export interface ValueInfo {
  name: string
  dataType: DataType
  /** A number is a fixed size; a string is a symbolic (dynamic) dimension, e.g. `batch`. */
  shape: readonly (number | string)[]
}

export interface Model {
  graphName: string
  nodes: readonly Node[]
  initializers: readonly Tensor[]
  inputs: readonly ValueInfo[]
  outputs: readonly ValueInfo[]
  opset: number
}

/** Protobuf encoding: tag = field << 3 | wire type; 0 varint, 2 length-delimited, 5 32-bit. */
class Writer {
  readonly #chunks: Uint8Array[] = []

  varint(field: number, value: number | bigint): this {
    this.#tag(field, 0)
    this.#raw(encodeVarint(BigInt(value)))
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2)
    this.#raw(encodeVarint(BigInt(value.length)))
    this.#raw(value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    return this.bytes(field, inner.finish())
  }

  float(field: number, value: number): this {
    this.#tag(field, 5)
    const buf = new Uint8Array(4)
    new DataView(buf.buffer).setFloat32(0, value, true)
    this.#raw(buf)
    return this
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0))
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }

  #tag(field: number, wireType: number): void {
    this.#raw(encodeVarint(BigInt((field << 3) | wireType)))
  }

  #raw(bytes: Uint8Array): void {
    this.#chunks.push(bytes)
  }
}

/** Base-128 varint; negative int64 values take ten bytes (two's complement), as protobuf does. */
function encodeVarint(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value)
  const bytes: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) byte |= 0x80
    bytes.push(byte)
  } while (v !== 0n)
  return Uint8Array.from(bytes)
}

const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, INTS: 7 } as const

function writeTensor(w: Writer, t: Tensor): void {
  for (const d of t.dims) w.varint(1, d) // dims
  w.varint(2, t.dataType) // data_type
  w.string(8, t.name) // name
  w.bytes(9, t.raw) // raw_data
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name)
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.varint(1, v.dataType) // elem_type
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)))
        }
      })
    }),
  )
}

function writeNode(w: Writer, n: Node, index: number): void {
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, `${n.op.toLowerCase()}_${index}`)
  w.string(4, n.op)
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    w.message(5, (a) => {
      a.string(1, name)
      if (typeof value === 'number' && Number.isInteger(value)) a.varint(20, ATTRIBUTE_TYPE.INT).varint(3, value)
      else if (typeof value === 'number') a.varint(20, ATTRIBUTE_TYPE.FLOAT).float(2, value)
      else {
        a.varint(20, ATTRIBUTE_TYPE.INTS)
        for (const v of value) a.varint(8, v)
      }
    })
  }
}

/** Serializes a ModelProto. */
export function encodeModel(model: Model): Uint8Array {
  return new Writer()
    .varint(1, 8) // ir_version
    .string(2, 'mlblocks-model-gen') // producer_name
    .message(7, (g) => {
      model.nodes.forEach((n, i) => g.message(1, (w) => writeNode(w, n, i)))
      g.string(2, model.graphName)
      for (const t of model.initializers) g.message(5, (w) => writeTensor(w, t))
      for (const v of model.inputs) g.message(11, (w) => writeValueInfo(w, v))
      for (const v of model.outputs) g.message(12, (w) => writeValueInfo(w, v))
    })
    .message(8, (o) => o.string(1, '').varint(2, model.opset)) // opset_import
    .finish()
}

/** Helpers to build initializers. */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return { name, dataType: DataType.FLOAT, dims, raw: new Uint8Array(Float32Array.from(values).buffer) }
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): Tensor {
  return { name, dataType: DataType.INT64, dims, raw: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) }
}

export const node = (op: string, inputs: readonly string[], outputs: readonly string[], attributes?: Node['attributes']): Node => ({
  op,
  inputs,
  outputs,
  ...(attributes ? { attributes } : {}),
})
