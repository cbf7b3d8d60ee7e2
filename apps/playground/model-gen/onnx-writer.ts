/**
 * A minimal ONNX (protobuf) writer: just enough of onnx.proto to build small inference graphs in
 * TypeScript, with no dependencies. Field numbers follow onnx/onnx.proto (written as IR version 8).
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT64: 7, BOOL: 9 } as const
export type DataType = (typeof DataType)[keyof typeof DataType]

export interface Tensor {
  name: string
  dataType: DataType
  dims: readonly number[]
  /** Little-endian element bytes (`raw_data`). */
  raw: Uint8Array
}

/** An integer (INT), a list of integers (INTS), or `{ float }` (FLOAT): never guessed from the number. */
export type AttributeValue = number | readonly number[] | { readonly float: number }

export interface Node {
  op: string
  inputs: readonly string[]
  outputs: readonly string[]
  attributes?: Readonly<Record<string, AttributeValue>>
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
  /** Version of the default (ai.onnx) operator set. */
  opset: number
}

/** Protobuf encoding: tag = field << 3 | wire type; 0 varint, 2 length-delimited, 5 32-bit. */
class Writer {
  readonly #chunks: Uint8Array[] = []

  varint(field: number, value: number | bigint): this {
    this.#tag(field, 0)
    this.#chunks.push(encodeVarint(BigInt(value)))
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2)
    this.#chunks.push(encodeVarint(BigInt(value.length)), value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  /** A nested message: its chunks are adopted, not copied, so large weights are copied once, by `finish`. */
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    this.#tag(field, 2)
    this.#chunks.push(encodeVarint(BigInt(inner.#length())))
    for (const chunk of inner.#chunks) this.#chunks.push(chunk)
    return this
  }

  float(field: number, value: number): this {
    this.#tag(field, 5)
    const buf = new Uint8Array(4)
    new DataView(buf.buffer).setFloat32(0, value, true)
    this.#chunks.push(buf)
    return this
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length())
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }

  #length(): number {
    return this.#chunks.reduce((n, c) => n + c.length, 0)
  }

  #tag(field: number, wireType: number): void {
    this.#chunks.push(encodeVarint(BigInt((field << 3) | wireType)))
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

/** AttributeProto.AttributeType values used here. */
const AttributeType = { FLOAT: 1, INT: 2, INTS: 7 } as const

function writeTensor(w: Writer, t: Tensor): void {
  for (const d of t.dims) w.varint(1, d) // dims
  w.varint(2, t.dataType) // data_type
  w.string(8, t.name) // name
  w.bytes(9, t.raw) // raw_data
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name) // name
  w.message(2, (type) =>
    // type.tensor_type: elem_type, shape.dim[] (dim_value or dim_param)
    type.message(1, (tensor) => {
      tensor.varint(1, v.dataType)
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)))
      })
    }),
  )
}

function writeAttribute(w: Writer, op: string, name: string, value: AttributeValue): void {
  w.string(1, name) // name
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`${op}.${name} = ${value} is not an integer: write { float: ${value} }`)
    w.varint(20, AttributeType.INT).varint(3, value) // type, i
  } else if ('float' in value) {
    w.varint(20, AttributeType.FLOAT).float(2, value.float) // type, f
  } else {
    w.varint(20, AttributeType.INTS) // type
    for (const v of value) w.varint(8, v) // ints
  }
}

function writeNode(w: Writer, n: Node, index: number): void {
  for (const i of n.inputs) w.string(1, i) // input
  for (const o of n.outputs) w.string(2, o) // output
  w.string(3, `${n.op.toLowerCase()}_${index}`) // name
  w.string(4, n.op) // op_type
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, (a) => writeAttribute(a, n.op, name, value))
}

/** Serializes a ModelProto. Nodes must be listed in topological order. */
export function encodeModel(model: Model): Uint8Array {
  return new Writer()
    .varint(1, 8) // ir_version
    .string(2, 'mlblocks-model-gen') // producer_name
    .message(7, (g) => {
      model.nodes.forEach((n, i) => g.message(1, (w) => writeNode(w, n, i))) // node
      g.string(2, model.graphName) // name
      for (const t of model.initializers) g.message(5, (w) => writeTensor(w, t)) // initializer
      for (const v of model.inputs) g.message(11, (w) => writeValueInfo(w, v)) // input
      for (const v of model.outputs) g.message(12, (w) => writeValueInfo(w, v)) // output
    })
    .message(8, (o) => o.string(1, '').varint(2, model.opset)) // opset_import: domain, version
    .finish()
}

/**
 * A constant tensor (initializer) of `dims` from row-major values; booleans are 0/1, and integers
 * must fit their type (typed arrays would wrap them silently).
 * Typed arrays are little-endian on every platform Node runs on, as raw_data requires.
 */
export function tensor(name: string, dataType: DataType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const size = dims.reduce((n, d) => n * d, 1)
  if (values.length !== size) throw new Error(`tensor ${name}: ${values.length} values for dims [${dims.join(', ')}]`)
  const elements = typedArray(name, dataType, values)
  return { name, dataType, dims, raw: new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength) }
}

function typedArray(name: string, dataType: DataType, values: ArrayLike<number>): ArrayBufferView {
  const fits = (min: number, max: number) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`tensor ${name}: ${v} is not an integer from ${min} to ${max}`)
    }
    return values
  }
  switch (dataType) {
    case DataType.FLOAT:
      return Float32Array.from(values)
    case DataType.UINT8:
      return Uint8Array.from(fits(0, 255))
    case DataType.INT8:
      return Int8Array.from(fits(-128, 127))
    case DataType.INT64:
      return BigInt64Array.from(Array.from(values, BigInt))
    case DataType.BOOL:
      return Uint8Array.from(values, (v) => (v ? 1 : 0))
  }
}

export const floatTensor = (name: string, dims: readonly number[], values: ArrayLike<number>): Tensor =>
  tensor(name, DataType.FLOAT, dims, values)

export const int64Tensor = (name: string, dims: readonly number[], values: ArrayLike<number>): Tensor =>
  tensor(name, DataType.INT64, dims, values)

/** A graph node running the standard operator `op`. */
export const node = (
  op: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes?: Node['attributes'],
): Node => ({ op, inputs, outputs, ...(attributes ? { attributes } : {}) })
