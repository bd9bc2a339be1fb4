ALTER TABLE `saga` MODIFY COLUMN `snapshot` longtext NOT NULL;--> statement-breakpoint
ALTER TABLE `saga` MODIFY COLUMN `input` longtext NOT NULL;--> statement-breakpoint
ALTER TABLE `saga` MODIFY COLUMN `results` longtext;--> statement-breakpoint
ALTER TABLE `saga` MODIFY COLUMN `last_error` longtext;--> statement-breakpoint
ALTER TABLE `saga` MODIFY COLUMN `error` longtext;