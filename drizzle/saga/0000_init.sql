CREATE TABLE `saga` (
	`gid` varchar(128) NOT NULL,
	`type` varchar(64) NOT NULL,
	`machine_version` int NOT NULL,
	`status` varchar(16) NOT NULL,
	`state` varchar(128) NOT NULL,
	`snapshot` json NOT NULL,
	`input` json NOT NULL,
	`results` json,
	`attempts` int NOT NULL DEFAULT 0,
	`next_attempt_at` datetime(3),
	`last_error` json,
	`error` json,
	`owner` varchar(128),
	`lease_expires_at` datetime(3),
	`request_fingerprint` varchar(64),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `saga_gid` PRIMARY KEY(`gid`)
);
--> statement-breakpoint
CREATE INDEX `idx_saga_recovery` ON `saga` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `idx_saga_created` ON `saga` (`created_at`);--> statement-breakpoint
CREATE INDEX `idx_saga_status_created` ON `saga` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_saga_type_created` ON `saga` (`type`,`created_at`);