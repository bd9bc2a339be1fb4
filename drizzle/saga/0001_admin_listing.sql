ALTER TABLE `saga` ADD `subject` varchar(128);--> statement-breakpoint
ALTER TABLE `saga` ADD `finished_at` datetime(3);--> statement-breakpoint
CREATE INDEX `idx_saga_status_type_created` ON `saga` (`status`,`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_saga_subject_created` ON `saga` (`subject`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_saga_finished` ON `saga` (`finished_at`,`status`);--> statement-breakpoint
UPDATE `saga` SET `finished_at` = `updated_at` WHERE `status` IN ('succeeded', 'aborted');--> statement-breakpoint
UPDATE `saga` SET `subject` = JSON_VALUE(`input`, '$.user.id') WHERE `type` = 'register' AND `subject` IS NULL;