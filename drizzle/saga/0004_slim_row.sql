-- The slim saga row (issue #13). Every existing row keeps what a resumed saga needs: `progress` is the
-- machine context without the input (kept in `input`) and the timeline, which moves to `detail`. The
-- retry policy is not in version 1 rows: a resumed saga takes the process's (saga-context.ts). Old
-- sagas' finish times go into the per-minute counts, under the owner `migration`.
CREATE TABLE `saga_finished_minute` (
	`minute` datetime NOT NULL,
	`type` varchar(64) NOT NULL,
	`status` varchar(16) NOT NULL,
	`owner` varchar(128) NOT NULL,
	`count` int NOT NULL,
	CONSTRAINT `saga_finished_minute_minute_type_status_owner_pk` PRIMARY KEY(`minute`,`type`,`status`,`owner`)
);
--> statement-breakpoint
INSERT INTO `saga_finished_minute` (`minute`, `type`, `status`, `owner`, `count`)
  SELECT FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(`finished_at`) / 60) * 60), `type`, `status`, 'migration', COUNT(*)
  FROM `saga` WHERE `finished_at` IS NOT NULL AND `finished_at` > NOW() - INTERVAL 1 DAY
  GROUP BY 1, 2, 3;
--> statement-breakpoint
ALTER TABLE `saga` ADD `progress` longtext;--> statement-breakpoint
ALTER TABLE `saga` ADD `detail` longtext;--> statement-breakpoint
UPDATE `saga` SET
  `progress` = JSON_REMOVE(JSON_EXTRACT(`snapshot`, '$.context'), '$.gid', '$.input', '$.history', '$.droppedHistory'),
  `detail` = JSON_REMOVE(JSON_EXTRACT(`snapshot`, '$.context'), '$.gid', '$.input', '$.deadline', '$.retry',
    '$.results', '$.steps', '$.nextAttemptAt', '$.error', '$.lastError');
--> statement-breakpoint
-- A row whose snapshot had no context (none is written so, but a hand-made row might be): an empty record.
UPDATE `saga` SET `progress` = '{}' WHERE `progress` IS NULL;--> statement-breakpoint
ALTER TABLE `saga` MODIFY `progress` longtext NOT NULL;--> statement-breakpoint
DROP INDEX `idx_saga_recovery` ON `saga`;--> statement-breakpoint
DROP INDEX `idx_saga_created` ON `saga`;--> statement-breakpoint
DROP INDEX `idx_saga_status_created` ON `saga`;--> statement-breakpoint
DROP INDEX `idx_saga_type_created` ON `saga`;--> statement-breakpoint
DROP INDEX `idx_saga_finished` ON `saga`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `snapshot`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `results`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `attempts`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `next_attempt_at`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `last_error`;--> statement-breakpoint
ALTER TABLE `saga` DROP COLUMN `error`;
