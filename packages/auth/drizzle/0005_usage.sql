CREATE TABLE "mlblocks_auth"."usage" (
	"user_id" uuid NOT NULL,
	"key_id" text DEFAULT '' NOT NULL,
	"block" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"errors" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_user_id_key_id_block_hour_pk" PRIMARY KEY("user_id","key_id","block","hour")
);
--> statement-breakpoint
CREATE INDEX "usage_hour_idx" ON "mlblocks_auth"."usage" USING btree ("hour");
