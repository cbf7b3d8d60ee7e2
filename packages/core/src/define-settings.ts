import { parse as parseMs } from '@lukeed/ms'
import { Type, type TSchema } from '@sinclair/typebox'

/**
 * One typed way to declare settings, for core, for auth and for any block: each setting is a
 * TypeBox schema that also carries its environment name, its default, its unit and its bounds.
 * `readSettings` reads them (one line per bad value, naming the setting, what was wrong and, where
 * the package has one, the off switch); `settingsTable` writes the README's table from the same
 * declaration, so that the docs cannot drift from the code. Adding a setting is one entry.
 */

/** Where a value comes from, besides the environment: `config` (a config file, plugin options) and `overrides` (code, CLI flags). */
export type SettingValue = string | number | boolean | readonly string[] | undefined

export interface SettingInfo<T> {
  /** The environment variable. */
  env: string
  /** The name a config value goes by in messages (e.g. `server.port`); default: the env name. */
  configName?: string
  /** The key in the config object (or plugin options) the value may also come from; shown in the table. */
  option?: string
  /** What the setting does, for the README table: one short sentence. */
  doc: string
  /** The default as the table shows it (e.g. `1h`, `unset: never believed`); default: the value. */
  shownDefault?: string
  /** Never echo the value in a message (secrets, passwords). */
  secret?: boolean
  /** Keep the value as given: no trimming (passwords). */
  raw?: boolean
  /** What values it takes, for the table (bounds and unit); the builders fill it in. */
  accepts?: string
  /**
   * Turns what was given (a string from the environment, or the config's value) into the setting's
   * value, or returns `{ problem }`: what the value had to be, as in "PORT must be <problem>; got 'x'".
   */
  parse: (value: Exclude<SettingValue, undefined>, name: string) => { value: T } | { problem: string }
}

/** A declared setting: a TypeBox schema (its JSON Schema documents the value) with `SETTING` info. */
export const SETTING = Symbol.for('mlblocks.setting')
export type Setting<T, S extends TSchema = TSchema> = S & { [SETTING]: SettingInfo<T> & { fallback: T } }
export type SettingsDeclaration = Record<string, Setting<unknown>>
export type SettingsOf<D extends SettingsDeclaration> = { [K in keyof D]: D[K] extends Setting<infer T> ? T : never }

/** A bad value: names the setting and what it had to be; never a secret's value. */
export class SettingError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
    readonly got: string | undefined,
  ) {
    super(got === undefined ? `${setting} must be ${problem}` : `${setting} must be ${problem}; got '${got}'`)
    this.name = 'SettingError'
  }
}

type Common = Pick<SettingInfo<unknown>, 'env' | 'configName' | 'option' | 'doc' | 'shownDefault' | 'secret' | 'raw' | 'accepts'>

function setting<T, S extends TSchema = TSchema>(schema: S, info: Common & { parse: SettingInfo<T>['parse'] }, fallback: T): Setting<T, S> {
  return Object.assign(schema, { [SETTING]: { ...info, fallback } }) as Setting<T, S>
}

const isWhole = (raw: string) => /^\d+$/.test(raw)

/** A whole number from `minimum` to `maximum`; `unit` (e.g. `failed logins per minute`) words the message and the table. */
function integer(o: Common & { default: number; minimum: number; maximum: number; unit?: string }): Setting<number> {
  const problem = o.unit ? `a whole number of ${o.unit} (${o.minimum}-${o.maximum})` : `a whole number from ${o.minimum} to ${o.maximum}`
  return setting<number>(
    Type.Integer({ minimum: o.minimum, maximum: o.maximum, default: o.default, description: o.doc, ...(o.unit ? { unit: o.unit } : {}) }),
    {
      accepts: `${o.minimum} to ${o.maximum}${o.unit ? ` ${o.unit}` : ''}`,
      ...o,
      parse: (v) => {
        const n = typeof v === 'number' ? v : typeof v === 'string' && isWhole(v) ? Number(v) : Number.NaN
        return Number.isInteger(n) && n >= o.minimum && n <= o.maximum ? { value: n } : { problem }
      },
    },
    o.default,
  )
}

/**
 * A duration written `90s`, `15m`, `1h`, `2d` (@lukeed/ms), or a bare number of seconds; read in
 * milliseconds, from `minimum` to `maximum` (given as durations too).
 */
function duration(o: Common & { default: string; minimum: string; maximum: string }): Setting<number> {
  const toMs = (text: string): number | undefined => (isWhole(text) ? Number(text) * 1000 : parseMs(text))
  const [min, max, fallback] = [toMs(o.minimum), toMs(o.maximum), toMs(o.default)]
  if (min === undefined || max === undefined || fallback === undefined) throw new TypeError(`${o.env}: bad duration in its declaration`)
  const problem = `a duration like 30s, 15m, 1h or 2d, from ${min / 1000}s to ${max / 1000}s`
  return setting<number>(
    Type.Integer({ minimum: min, maximum: max, default: fallback, description: o.doc, unit: 'ms' }),
    {
      shownDefault: `\`${o.default}\``,
      accepts: `${o.minimum} to ${o.maximum} (\`90s\`, \`15m\`, \`1h\`, \`2d\`; a bare number is seconds)`,
      ...o,
      parse: (v) => {
        const ms = typeof v === 'string' ? toMs(v) : undefined
        return ms !== undefined && Number.isFinite(ms) && ms >= min && ms <= max ? { value: ms } : { problem }
      },
    },
    fallback,
  )
}

/** `values` (the first the default unless `default` says otherwise); `lowercase`: `INFO` reads as `info`. */
function oneOf<const V extends string>(values: readonly V[], o: Common & { default: V; lowercase?: boolean; problem?: string }): Setting<V> {
  return setting<V>(
    Type.Union(values.map((v) => Type.Literal(v)), { default: o.default, description: o.doc }),
    {
      accepts: values.map((v) => `\`${v}\``).join(', '),
      ...o,
      parse: (v) => {
        const s = typeof v === 'string' ? (o.lowercase ? v.toLowerCase() : v) : undefined
        return s !== undefined && (values as readonly string[]).includes(s) ? { value: s as V } : { problem: o.problem ?? `one of ${values.join(', ')}` }
      },
    },
    o.default,
  )
}

/** `true`/`1` or `false`/`0` (any case); `problem` words the message (e.g. `1, 0, true or false`). */
function flag(o: Common & { default: boolean; problem?: string }): Setting<boolean> {
  return setting<boolean>(
    Type.Boolean({ default: o.default, description: o.doc }),
    {
      accepts: '`true`, `false`, `1`, `0`',
      ...o,
      parse: (v) => {
        if (typeof v === 'boolean') return { value: v }
        const s = typeof v === 'string' ? v.toLowerCase() : ''
        if (s === 'true' || s === '1') return { value: true }
        if (s === 'false' || s === '0') return { value: false }
        return { problem: o.problem ?? 'true, false, 1 or 0' }
      },
    },
    o.default,
  )
}

/** Text, checked by `check` (which returns what the value had to be, when it is not); unset: `default`. */
function text<D extends string | null = null>(o: Common & { default?: D; check?: (value: string) => string | undefined }): Setting<string | D> {
  return setting<string | D>(
    Type.String({ description: o.doc, ...(o.default ? { default: o.default } : {}) }),
    {
      ...o,
      parse: (v) => {
        const s = String(v)
        const problem = o.check?.(s)
        return problem === undefined ? { value: s } : { problem }
      },
    },
    (o.default ?? null) as D,
  )
}

/** A setting whose parsing is the package's own (a list, a URL…); still one line per bad value. */
function custom<T>(schema: TSchema, o: Common & { default: T; parse: SettingInfo<T>['parse'] }): Setting<T> {
  return setting<T>({ ...schema, description: o.doc }, o, o.default)
}

export const Setting = { integer, duration, oneOf, flag, text, custom }

/** The declaration as a TypeBox object (for a JSON Schema of the settings, say). */
export const settingsSchema = (declaration: SettingsDeclaration) => Type.Object(declaration)

/** Unset, empty or blank: not given. Trimmed unless the setting keeps its value as given (`raw`, for passwords). */
const present = (v: SettingValue, keepRaw = false): SettingValue => {
  if (typeof v !== 'string') return v
  if (keepRaw) return v === '' ? undefined : v
  const t = v.trim()
  return t === '' ? undefined : t
}

export interface ReadOptions {
  /** Values from the config file or plugin options, by declaration key (the environment wins over them). */
  config?: object
  /** Values from code or CLI flags, by declaration key: they win over everything. */
  overrides?: object
}

/**
 * Every declared setting, highest first from `overrides`, the environment, `config`, then its
 * default. Throws a SettingError for the first bad value, naming where it came from.
 */
export function readSettings<D extends SettingsDeclaration>(
  declaration: D,
  env: Readonly<Record<string, string | undefined>>,
  { config = {}, overrides = {} }: ReadOptions = {},
): SettingsOf<D> {
  const out: Record<string, unknown> = {}
  for (const [key, decl] of Object.entries(declaration)) {
    const info = decl[SETTING]
    const fromOverride = present((overrides as Record<string, SettingValue>)[key], info.raw)
    const fromEnv = present(env[info.env], info.raw)
    const fromConfig = present((config as Record<string, SettingValue>)[key], info.raw)
    const [value, name] =
      fromOverride !== undefined ? [fromOverride, info.configName ?? info.env] : fromEnv !== undefined ? [fromEnv, info.env] : [fromConfig, info.configName ?? info.env]
    if (value === undefined) {
      out[key] = info.fallback
      continue
    }
    const result = info.parse(value, name)
    if ('problem' in result) throw new SettingError(name, result.problem, info.secret ? undefined : String(value))
    out[key] = result.value
  }
  return out as SettingsOf<D>
}

/** The declared environment names, in order: what turbo's `start` must let through. */
export const settingNames = (declaration: SettingsDeclaration): string[] => Object.values(declaration).map((d) => d[SETTING].env)

const shown = (d: Setting<unknown>): string => {
  const info = d[SETTING]
  if (info.shownDefault !== undefined) return info.shownDefault
  if (info.fallback === null || info.fallback === undefined) return 'unset'
  return `\`${String(info.fallback)}\``
}

/** The README's settings table, generated from the declaration (a test compares it with the README). */
export function settingsTable(declaration: SettingsDeclaration): string {
  const rows = Object.values(declaration).map((d) => {
    const info = d[SETTING]
    const cell = (s: string) => s.replaceAll('|', '\\|')
    return `| \`${info.env}\` | ${info.option ? `\`${info.option}\`` : '—'} | ${cell(shown(d))} | ${cell(info.accepts ?? '—')} | ${cell(info.doc)} |`
  })
  return ['| env | option | default | accepts | what it does |', '| --- | --- | --- | --- | --- |', ...rows].join('\n')
}

/** The generated table sits between these lines in a README. */
export const tableMarkers = (name: string) => [`<!-- settings-table ${name}: generated from the declaration; edit it there -->`, `<!-- /settings-table ${name} -->`] as const

/** `readme` with the table for `name` written between its markers (which must be there). */
export function withSettingsTable(readme: string, name: string, declaration: SettingsDeclaration): string {
  const [start, end] = tableMarkers(name)
  const from = readme.indexOf(start)
  const to = readme.indexOf(end)
  if (from < 0 || to < from) throw new Error(`the README has no ${start} … ${end} block`)
  return `${readme.slice(0, from + start.length)}\n${settingsTable(declaration)}\n${readme.slice(to)}`
}
