CREATE TABLE `user_score` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`user_id` bigint NOT NULL,
	`score` int NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `user_score_id` PRIMARY KEY(`id`),
	CONSTRAINT `uniq_user_score_user_id` UNIQUE(`user_id`)
);
