ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "checksummed" boolean DEFAULT true NOT NULL;--> statement-breakpoint
UPDATE "mlblocks_auth"."api_keys" SET "checksummed" = false;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."audit_events" ADD COLUMN "count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."audit_events" ADD COLUMN "bucket" text;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."users" ADD COLUMN "credentials_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
DO $$
DECLARE clashes text;
BEGIN
  SELECT string_agg(names, '; ') INTO clashes FROM (
    SELECT string_agg(format('%s (user_id %s)', "username", "user_id"), ', ' ORDER BY "username") AS names
    FROM "mlblocks_auth"."users" GROUP BY lower("username") HAVING count(*) > 1
  ) AS groups;
  IF clashes IS NOT NULL THEN
    RAISE EXCEPTION 'mlblocks_auth: usernames must now be unique without regard to case, and these differ only in case: %. Rename all but one of each group (update mlblocks_auth.users set username = ''new-name'' where user_id = ''...''), then start again', clashes;
  END IF;
END $$;--> statement-breakpoint
CREATE UNIQUE INDEX "users_username_lower_idx" ON "mlblocks_auth"."users" USING btree (lower("username"));--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."audit_events" ADD CONSTRAINT "audit_events_bucket_unique" UNIQUE("bucket");
