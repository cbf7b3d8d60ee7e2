import { Validator } from '@seriousme/openapi-schema-validator'

type Operation = { operationId?: string; summary?: string; responses?: Record<string, { description?: string }> }
type Document = { paths?: Record<string, Record<string, Operation>> }

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

/**
 * What is wrong with an OpenAPI document, one line each (none: it is usable): what the OpenAPI
 * schema validator finds, and every operation without an operationId (or with one another uses),
 * without a summary, or with an answer described only as @fastify/swagger's "Default Response".
 * Core's and auth's docs tests run it on the document they serve.
 */
export async function openApiProblems(document: object): Promise<string[]> {
  const doc = document as Document
  const problems: string[] = []
  const result = await new Validator().validate(structuredClone(doc) as Record<string, unknown>)
  if (!result.valid) {
    const errors = Array.isArray(result.errors) ? result.errors.map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`) : [String(result.errors)]
    problems.push(...errors.map((e) => `not valid OpenAPI: ${e}`))
  }
  const seen = new Map<string, string>()
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      if (!METHODS.has(method)) continue
      const where = `${method.toUpperCase()} ${path}`
      if (!op.operationId) problems.push(`${where}: no operationId`)
      else if (seen.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} is also ${seen.get(op.operationId)}'s`)
      else seen.set(op.operationId, where)
      if (!op.summary) problems.push(`${where}: no summary`)
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!response.description || response.description === 'Default Response') problems.push(`${where}: the ${status} answer is not described`)
      }
    }
  }
  return problems
}
