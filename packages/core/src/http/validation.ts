import AjvCompiler from '@fastify/ajv-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilerOptions = Extract<Parameters<AjvCompiler.BuildCompilerFromPool>[1], { plugins?: unknown }>

const base = { removeAdditional: false, useDefaults: true, allErrors: false } as const

/**
 * Bodies are validated strictly: JSON already has types, so `"5"` is not a number and `["a"]` is
 * not a string. Query strings, params and headers are text, so they are coerced as Fastify does.
 * Unknown fields are never silently dropped: a schema that forbids them answers 400.
 */
export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator(externalSchemas, ajvOptions) {
      const { plugins = [] } = (ajvOptions ?? {}) as CompilerOptions
      const forBody = AjvCompiler()(externalSchemas, { plugins, customOptions: { ...base, coerceTypes: false } })
      const forText = AjvCompiler()(externalSchemas, { plugins, customOptions: { ...base, coerceTypes: 'array' } })
      return (route) => (route.httpPart === 'body' ? forBody(route) : forText(route))
    },
  },
}
