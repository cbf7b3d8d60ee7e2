import type { RouteAccess } from '../hooks/protect-routes.js'
import type { AccessCheck } from '../services/access-check.js'
import type { ApiKeys } from '../services/api-keys.js'
import type { Audit } from '../services/audit.js'
import type { LoginLimits } from '../services/login-limits.js'
import type { AuthMetrics } from '../services/metrics.js'
import type { Usage } from '../services/usage.js'
import type { Credentials } from '../services/credentials.js'
import type { Groups } from '../services/groups.js'
import type { Tokens } from '../services/tokens.js'
import type { Users } from '../services/users.js'
import type { AuthSettings } from '../settings.js'

/** What every route plugin is given: the services, the settings and the cross-instance hooks. */
export interface RouteDeps {
  users: Users
  tokens: Tokens
  apiKeys: ApiKeys
  credentials: Credentials
  settings: AuthSettings
  limits: LoginLimits
  /** Tells the other instances (on one Postgres, through NOTIFY) to lift a username's back-off too. */
  publishUnlock: (username: string) => void
  audit: Audit
  metrics: AuthMetrics
  usage: Usage
  groups: Groups
  accessCheck: AccessCheck
  /** The blocks of this server (core's registry). */
  blockNames: () => string[]
  /** AUTH_PUBLIC_BLOCKS. */
  publicBlocks: ReadonlySet<string>
  /** Every route and its access, as classified at start-up (`GET /admin/routes`). */
  routeTable: () => RouteAccess[]
}
