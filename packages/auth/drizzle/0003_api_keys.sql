ALTER TYPE "mlblocks_auth"."role" ADD VALUE IF NOT EXISTS 'service';--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."users" ALTER COLUMN "hashed_password" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "blocks" text[];--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "issued_by" uuid;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "issued_by_name" text;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "rotated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "previous_key_hash" text;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "previous_prefix" text;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "previous_checksummed" boolean;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD COLUMN "previous_valid_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mlblocks_auth"."api_keys" ADD CONSTRAINT "api_keys_previous_key_hash_unique" UNIQUE("previous_key_hash");
