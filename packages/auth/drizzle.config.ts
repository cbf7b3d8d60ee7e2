import { defineConfig } from 'drizzle-kit'

// `pnpm db:generate` writes the SQL migrations into drizzle/; they are committed and shipped.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  migrations: { schema: 'mlblocks_auth', table: '__drizzle_migrations' },
})
